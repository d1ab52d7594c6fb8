"""Headless entry points: inspect models and data, check and run recipes, launch the window."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from workbench.core.errors import WorkbenchError, shell_command
from workbench.core.quiet import quiet_environment
from workbench.core.recipe import BUNDLED_TEACHER, DataConfig, Recipe

EXIT_CANCELLED = 130  # what a shell reports for Ctrl-C, so a script tells "cancelled" from "finished" (0)
EXIT_NO_CANDIDATE = 3  # a search that finished with no candidate under its budget: not a success for a script


def _info(args: argparse.Namespace) -> None:
    from workbench.core.sources.models import summarize_model

    print("\n".join(summarize_model(args.model).lines()))


def _data(args: argparse.Namespace) -> None:
    from workbench.core.sources.data_summary import summarize_data
    from workbench.core.sources.models import load_tokenizer, resolve_model_source

    tokenizer = load_tokenizer(resolve_model_source(args.tokenizer))
    summary = summarize_data(args.source, args.text_column, args.label_column, tokenizer)
    print("\n".join(summary.lines()))


def _warn_of_code(recipe: Recipe | None) -> None:
    """Said before any model loads: from here on the teacher's own Python code may run."""
    if recipe is not None and (warning := recipe.code_warning()):
        print(f"warning: {warning}", file=sys.stderr, flush=True)


def _run_recipe(run_dir: str) -> Recipe | None:
    """The recipe a run folder was made with, or None where there is none to read (the command then says why)."""
    from workbench.core.run_folder import RunFolder

    try:
        return RunFolder.open(run_dir).recipe()
    except WorkbenchError:
        return None


def _check(args: argparse.Namespace) -> None:
    recipe = Recipe.load(args.recipe).with_overrides(args.set)
    if not args.recipe_only:
        _warn_of_code(recipe)
        from workbench.core.preflight import check_recipe

        checked = check_recipe(recipe)
        print("\n".join([*checked.lines, *(f"note: {note}" for note in checked.notes)]))
    print(f"{args.recipe}: valid recipe '{recipe.name}'" + ("" if args.recipe_only else "; ready to run"))
    if args.show:
        print(recipe.to_yaml(), end="")


def _run(args: argparse.Namespace) -> int:
    if not args.recipe and not args.resume:
        raise WorkbenchError("give a recipe file to run, or --resume RUN_DIR")
    if args.set and not args.recipe:
        raise WorkbenchError("--set changes a recipe; a resumed run keeps the recipe it started with")
    # The recipe is read before torch is imported: a bad one is answered at once, in little memory.
    recipe = Recipe.load(args.recipe).with_overrides(args.set) if args.recipe else None
    if args.resume:
        from workbench.core.run_folder import RunFolder

        run = RunFolder.open(args.resume)
        if run.status().get("status") == "finished":  # resuming would redo export and benchmark over its files
            print(f"{run.path}: the run is finished, nothing to resume; see it with: "
                  f"{shell_command('workbench', 'report', run.path)}")
            return 0
    _warn_of_code(recipe or _run_recipe(args.resume))

    import json

    from workbench.core.events import Failed, Finished, JobControl
    from workbench.core.job import run_job
    from workbench.core.progress import follow

    control = JobControl()
    _cancel_on_signals(control)
    events = run_job(recipe, control, resume_dir=args.resume)
    if os.environ.get("RANK", "0") != "0":  # under torchrun / accelerate launch only rank 0 reports
        for _ in events:
            pass
        return 0
    last = follow(events)
    if isinstance(last, Failed):
        raise WorkbenchError(last.message)
    if isinstance(last, Finished):
        if last.status == "cancelled":
            print(f"cancelled; continue with: {shell_command('workbench', 'run', '--resume', last.run_dir)}")
            return EXIT_CANCELLED
        print(json.dumps({"run_dir": last.run_dir, **last.summary}, indent=2, ensure_ascii=False))
        from workbench.core.run_folder import RunFolder
        from workbench.core.run_summary import run_flags

        # The closing lines say what the numbers above cannot claim; on stderr, so stdout stays one JSON object.
        for flag in run_flags(RunFolder(last.run_dir)):
            print(f"⚠ {flag}", file=sys.stderr)
    return 0


def _cancel_on_signals(control) -> None:
    """Ctrl-C, `kill` (SIGTERM, as service managers and schedulers stop a job) and a closed terminal (SIGHUP)
    ask the loop to stop at the next step, checkpoint and say how to resume, as the window's Cancel does."""
    import signal

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda *_: control.cancel())


def _export(args: argparse.Namespace) -> None:
    from workbench.core.compress.export import export_run
    from workbench.core.compress.parity import check_run
    from workbench.core.sources.split_inputs import load_split

    _in_range("--threads", [args.threads], 256)
    _warn_of_code(_run_recipe(args.run_dir))
    dev = load_split(args.run_dir, "dev")  # read once: static int8, the guard and parity all use it
    for name, path in export_run(args.run_dir, teacher=not args.no_teacher, dev=dev).artifacts.items():
        print(f"wrote {name}: {path}")
    from workbench.core.run_folder import SHIPPED_PREFIX

    results = check_run(args.run_dir, threads=args.threads, dev=dev)
    for result in results:  # a reference teacher's verdict is shown, but never fails what the run ships
        print(result.message if result.artifact.startswith(SHIPPED_PREFIX) else f"reference: {result.message}")
    if not all(result.ok for result in results if result.artifact.startswith(SHIPPED_PREFIX)):
        raise WorkbenchError(f"{args.run_dir}: a student artifact failed its parity check (see onnx/parity.json)")


def _in_range(flag: str, values: list[int], high: int) -> None:
    """Counts the benchmark and export take from the command line, each a whole number from 1 to `high`."""
    for value in values:
        if not 1 <= value <= high:
            raise WorkbenchError(f"{flag} {value}: give a whole number from 1 to {high}")


def _bench(args: argparse.Namespace) -> None:
    from workbench.core.measure.benchmark import benchmark_run, format_table

    _in_range("--threads", [args.threads], 256)
    _in_range("--batches", args.batches, 4096)
    _in_range("--seq-lens", args.seq_lens, 512)
    _in_range("--repeats", [args.repeats], 100_000)
    _warn_of_code(_run_recipe(args.run_dir))
    result = benchmark_run(args.run_dir, threads=args.threads, batches=args.batches, seq_lens=args.seq_lens,
                           repeats=args.repeats)
    print(format_table(result))


def _report(args: argparse.Namespace) -> None:
    from workbench.core.report.document import write_report

    print(write_report(args.run_dir))


def _deploy(args: argparse.Namespace) -> None:
    from workbench.core.deploy.bundle import write_bundle

    if args.format == "web":
        return _deploy_web(args)
    bundle = write_bundle(args.run_dir, args.out, model=args.model, ort_format=args.format == "ort")
    print(f"wrote the {bundle.model} bundle of {args.run_dir} to {bundle.path}: {', '.join(bundle.files)}")
    print(f"try it: {shell_command('pip', 'install', '-r', bundle.path / 'requirements.txt')} && "
          f"{shell_command('python', bundle.path / 'predict.py', 'some text')}")


def _deploy_web(args: argparse.Namespace) -> None:
    from workbench.core.deploy.web import write_web_demo

    if args.model != "int8":
        raise WorkbenchError("--format web ships the int8 student only; leave out --model")
    demo = write_web_demo(args.run_dir, args.out)
    parts = ", ".join(f"{role} {size / 2**20:.1f}" for role, size in sorted(demo.sizes.items(), key=lambda p: -p[1])
                      if size >= 2**19)
    print(f"wrote the web demo of {args.run_dir} to {demo.path}: {demo.demo.name} "
          f"({demo.demo.stat().st_size / 2**20:.1f} MiB, mostly {parts} MiB; opens offline in a browser) and web/ "
          "(to host)")
    print(f"try it: open {demo.demo}")


def _search(args: argparse.Namespace) -> int:
    from workbench.core.events import JobControl, describe
    from workbench.core.search.events import SearchFinished, TrialProgress, describe_search
    from workbench.core.search.frontier import TrialRow, format_table
    from workbench.core.search.runner import report_study, run_search, trial_recipe

    if args.export_recipe:
        study_dir, number = args.export_recipe
        if not number.isdigit():
            raise WorkbenchError(f"--export-recipe {study_dir} {number}: the trial is a number, e.g. 3")
        wanted = args.out or f"trial-{number}.yaml"
        try:
            out = trial_recipe(study_dir, int(number)).save(wanted)
        except OSError as error:
            raise WorkbenchError(f"{wanted}: cannot write the recipe there ({error.strerror or error}); give -o a "
                                 "file in a folder you can write to") from None
        print(f"wrote {out}; train it with: {shell_command('workbench', 'run', out)}")
        return 0
    if args.report:
        print(report_study(args.report))
        return 0
    given = [name for name in ("recipe", "resume", "join") if getattr(args, name)]
    if len(given) != 1:
        raise WorkbenchError("give one of: a recipe file, --resume STUDY_DIR, --join STUDY_DIR")
    recipe = Recipe.load(args.recipe) if args.recipe else None
    _warn_of_code(recipe)
    control = JobControl()
    _cancel_on_signals(control)
    last = None
    for last in run_search(recipe, control, resume=args.resume, join=args.join, trials=args.trials):
        inner = last.event if isinstance(last, TrialProgress) else None
        line = describe_search(last) or (describe(inner) if inner and inner.kind in _TRIAL_EVENTS else None)
        if line:
            print(line if inner is None else f"    trial {last.trial}: {line.strip()}", flush=True)
    if not isinstance(last, SearchFinished):
        return 1
    rows = [TrialRow.from_dict(row) for row in last.rows]
    references = _study_references(last.study_dir)
    print(format_table(rows, references))
    if last.best:
        export = shell_command("workbench", "search", "--export-recipe", last.study_dir, last.best["number"], "-o",
                               "student.yaml")
        print(f"best under budget: trial {last.best['number']} ({last.best['candidate']}); use it with: {export}")
    else:
        print(last.message)
    print(f"study folder: {last.study_dir}")
    if last.status == "cancelled":
        print(f"cancelled; continue with: {shell_command('workbench', 'search', '--resume', last.study_dir)}")
        return EXIT_CANCELLED
    return 0 if last.best else EXIT_NO_CANDIDATE


_TRIAL_EVENTS = ("StageStarted", "Evaluation", "Failed", "Notice")


def _study_references(study_dir: str) -> dict:
    from workbench.core.search.folder import StudyFolder

    return StudyFolder(study_dir).references().get("models", {})


def _gui(args: argparse.Namespace) -> None:
    from workbench.gui.app import main as gui_main

    sys.exit(gui_main([args.recipe] if args.recipe else []))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], None], help_text: str):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    info = command("info", _info, "summarise a model: bundled name, local folder or hub id")
    info.add_argument("model", help=f"e.g. {BUNDLED_TEACHER}, ./my-model, bert-base-uncased")

    defaults = DataConfig()
    data = command("data", _data, "summarise a labelled data source: classes, counts, token lengths")
    data.add_argument("source", help=f"e.g. {defaults.source}, tweets.csv, reviews.jsonl")
    data.add_argument("--text-column", default=defaults.text_column)
    data.add_argument("--label-column", default=defaults.label_column)
    data.add_argument("--tokenizer", default=BUNDLED_TEACHER, help="model whose tokenizer counts tokens")

    check = command("check", _check, "validate a recipe and run every check a job makes before training: "
                    "models, mapping, lengths, vocabulary, data")
    check.add_argument("recipe")
    check.add_argument("--show", action="store_true", help="print the recipe with every default filled in")
    check.add_argument("--recipe-only", action="store_true", help="validate the file alone; read no model or data")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="change one recipe value before checking, as `workbench run --set` does")

    run = command("run", _run, "run a recipe headless (also under `accelerate launch` or `torchrun`)")
    run.add_argument("recipe", nargs="?")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="change one recipe value for this run, e.g. --set distillation.intermediate.epochs=1")

    export = command("export", _export, "write ONNX fp32 / fused / int8 artifacts of a run and check their parity")
    export.add_argument("run_dir")
    export.add_argument("--no-teacher", action="store_true", help="export the student only")
    export.add_argument("--threads", type=int, default=2)

    bench = command("bench", _bench, "measure latency, throughput, memory, size and accuracy of a run's models")
    bench.add_argument("run_dir")
    bench.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads (fixed)")
    bench.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    bench.add_argument("--seq-lens", type=int, nargs="+", default=[64, 128])
    bench.add_argument("--repeats", type=int, default=20)

    report = command("report", _report, "write RUN_DIR/report/index.html: headline, charts, parity flags, recipe")
    report.add_argument("run_dir")

    deploy = command("deploy", _deploy, "write a folder that runs the student with onnxruntime, tokenizers and numpy "
                                        "alone: model, tokenizer.json, labels, model card, predict.py")
    deploy.add_argument("run_dir")
    deploy.add_argument("--out", metavar="DIR", help="folder to write (default RUN_DIR/deploy, or RUN_DIR/web-demo)")
    deploy.add_argument("--model", choices=["int8", "fp32"], default="int8", help="which ONNX student to ship")
    deploy.add_argument("--format", choices=["onnx", "ort", "web"], default="onnx",
                        help="ort: also the ORT-format model and operator list for ONNX Runtime mobile builds; web: "
                             "demo.html, one page that runs the int8 student in a browser offline, and web/ to host "
                             "(default folder RUN_DIR/web-demo)")

    search = command("search", _search, "budget search: which student fits a latency / size budget on this machine "
                                        "(the recipe's search: section); prints the study folder and the frontier; "
                                        f"exits {EXIT_NO_CANDIDATE} when no candidate meets the budget")
    search.add_argument("recipe", nargs="?")
    search.add_argument("--resume", metavar="STUDY_DIR", help="continue a killed or cancelled study")
    search.add_argument("--join", metavar="STUDY_DIR", help="another worker of a running study (shared storage)")
    search.add_argument("--trials", type=int, metavar="N", help="trials the study should have (overrides "
                        "search.trials)")
    search.add_argument("--export-recipe", nargs=2, metavar=("STUDY_DIR", "TRIAL"),
                        help="write the recipe of a full job training that trial's student")
    search.add_argument("-o", "--out", metavar="FILE", help="where --export-recipe writes (default trial-N.yaml)")
    search.add_argument("--report", metavar="STUDY_DIR", help="write STUDY_DIR/report/index.html")

    gui = command("gui", _gui, "open the workbench window")
    gui.add_argument("recipe", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_environment()
    try:
        return args.handler(args) or 0
    except WorkbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
