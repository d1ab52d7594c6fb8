"""The window's one door into the core: every core name `workbench.gui` uses, beside the recipe
(`workbench.core.recipe`), the events (`workbench.core.events`) and the run folder (`workbench.core.run_folder`),
which it imports directly. An import-linter contract in pyproject.toml keeps the window to these four.

Importing this module loads nothing: each name loads its owning module on first use (PEP 562), so the window
still starts without torch, transformers, onnxruntime or datasets, and whatever it imports inside a function
(to keep them off the launch path) it still imports there, now from here. A name is looked up in its owner at
every use, never copied: a test that replaces `workbench.core.job.run_job` replaces what the window runs.

The names, by what the window does with them:
- errors it shows: WorkbenchError and the kinds it tells apart;
- the job and the search it starts off the GUI thread (run_job, run_search) and their progress;
- what it reads to draw a run, a study and their charts (summaries, flags, headlines, the frontier, colours);
- the actions of the Runs and Try it panels (report, benchmark, deploy bundle, web demo, predictions);
- the previews of the recipe's data and models, and the bundled presets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names as _OWNERS below, for readers: type checkers, grimp, PyInstaller
    from workbench.core.deploy.bundle import write_bundle
    from workbench.core.deploy.web import write_web_demo
    from workbench.core.distill.mapping import LayerMapping, MappingError, pair_losses, recipe_mapping
    from workbench.core.errors import DataSourceError, RecipeError, WorkbenchError
    from workbench.core.job import preload_libraries, run_job
    from workbench.core.measure.benchmark import benchmark_run
    from workbench.core.measure.inference import (
        Predictor,
        compare,
        model_files_stamp,
        predict_batches,
        recorded_accuracies,
        run_predictors,
    )
    from workbench.core.methods.method import FormRow
    from workbench.core.methods.registry import form_rows, pruning_estimate, pruning_tags, section_tags
    from workbench.core.palette import COMPONENT_COLOURS, PALETTE, TEACHER_GREY
    from workbench.core.preflight import check_recipe
    from workbench.core.progress import JobProgress, StageClock
    from workbench.core.quiet import quiet_environment
    from workbench.core.recipe_search import SearchBudget
    from workbench.core.report.document import write_report
    from workbench.core.report.headline import run_headline
    from workbench.core.run_summary import RunSummary, failed_artifacts, list_runs, run_flags
    from workbench.core.search.events import (
        CandidateMeasured,
        ReferencesMeasured,
        SearchFinished,
        StudyOpened,
        TrialDone,
        TrialProgress,
    )
    from workbench.core.search.folder import StudyFolder
    from workbench.core.search.frontier import COMPLETE, TrialRow, mark, pareto_frontier
    from workbench.core.search.runner import open_finished, run_search, trial_recipe
    from workbench.core.sources.data import load_task_data
    from workbench.core.sources.data_preview import DataPreview, preview_data
    from workbench.core.sources.models import BUNDLED_MODELS, load_config, resolve_model_source, summarize_model
    from workbench.core.sources.resources import preset_path, presets_dir, resources_dir
    from workbench.core.sources.student import describe_student, student_config
    from workbench.core.sources.text_encoding import detect_encoding

_OWNERS: dict[str, tuple[str, ...]] = {  # owning module -> the names the window takes from it
    "workbench.core.deploy.bundle": ("write_bundle",),
    "workbench.core.deploy.web": ("write_web_demo",),
    "workbench.core.distill.mapping": ("LayerMapping", "MappingError", "pair_losses", "recipe_mapping"),
    "workbench.core.errors": ("DataSourceError", "RecipeError", "WorkbenchError"),
    "workbench.core.job": ("preload_libraries", "run_job"),
    "workbench.core.measure.benchmark": ("benchmark_run",),
    "workbench.core.measure.inference": ("Predictor", "compare", "model_files_stamp", "predict_batches",
                                         "recorded_accuracies", "run_predictors"),
    "workbench.core.methods.method": ("FormRow",),
    "workbench.core.methods.registry": ("form_rows", "pruning_estimate", "pruning_tags", "section_tags"),
    "workbench.core.palette": ("COMPONENT_COLOURS", "PALETTE", "TEACHER_GREY"),
    "workbench.core.preflight": ("check_recipe",),
    "workbench.core.progress": ("JobProgress", "StageClock"),
    "workbench.core.quiet": ("quiet_environment",),
    "workbench.core.recipe_search": ("SearchBudget",),
    "workbench.core.report.document": ("write_report",),
    "workbench.core.report.headline": ("run_headline",),
    "workbench.core.run_summary": ("RunSummary", "failed_artifacts", "list_runs", "run_flags"),
    "workbench.core.search.events": ("CandidateMeasured", "ReferencesMeasured", "SearchFinished", "StudyOpened",
                                     "TrialDone", "TrialProgress"),
    "workbench.core.search.folder": ("StudyFolder",),
    "workbench.core.search.frontier": ("COMPLETE", "TrialRow", "mark", "pareto_frontier"),
    "workbench.core.search.runner": ("open_finished", "run_search", "trial_recipe"),
    "workbench.core.sources.data": ("load_task_data",),
    "workbench.core.sources.data_preview": ("DataPreview", "preview_data"),
    "workbench.core.sources.models": ("BUNDLED_MODELS", "load_config", "resolve_model_source", "summarize_model"),
    "workbench.core.sources.resources": ("preset_path", "presets_dir", "resources_dir"),
    "workbench.core.sources.student": ("describe_student", "student_config"),
    "workbench.core.sources.text_encoding": ("detect_encoding",),
}
_OWNER_OF = {name: module for module, names in _OWNERS.items() for name in names}
__all__ = sorted(_OWNER_OF)


def __getattr__(name: str) -> Any:
    module = _OWNER_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
