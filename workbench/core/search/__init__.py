"""Budget search: which student to ship for a latency / size budget on this machine (issue 14).

space      the candidates a trial draws and the recipe of each
costs      the reference models and every candidate's int8 latency and size, measured before it trains
study      the Optuna study: storage, sampler, pruner, stale trials of killed workers
trial      one trial: measure, refuse when over budget, else train as a job with the pruner watching
frontier   trial rows, the Pareto frontier, the best candidate under budget, the table and the message
runner     the search as a generator of events (the CLI prints them, the window plots them)
folder     the study folder's layout
"""
