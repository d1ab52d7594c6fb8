"""One module per panel, in job order: models, mapping, compression, training, try it, runs."""
