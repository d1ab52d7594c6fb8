"""The registry of compression methods, in the order the pipeline applies them within a stage, and what the
pipeline, the model card, the report and the window ask of them all. Everything here reads METHODS when it is
called, so that a method registered later (a test's) is seen too. Adding a method: its module, its test and
one line in METHODS."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from workbench.core.methods.int4 import INT4
from workbench.core.methods.int8_guard import INT8_GUARD
from workbench.core.methods.method import PRUNING_REPORT, CompressionMethod, FormRow, SearchKnob, Section
from workbench.core.methods.qat import QUANTIZATION_AWARE
from workbench.core.methods.sparsity import SPARSITY
from workbench.core.methods.structured import STRUCTURED
from workbench.core.methods.transfer_set import TRANSFER_SET
from workbench.core.methods.vocabulary import VOCABULARY
from workbench.core.methods.width import WIDTH
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder

METHODS: tuple[CompressionMethod, ...] = (
    STRUCTURED,
    WIDTH,  # after structured pruning (which may take the heads: the recipe forbids both), before sparsity
    SPARSITY,
    VOCABULARY,
    INT8_GUARD,
    QUANTIZATION_AWARE,
    INT4,
    TRANSFER_SET,
)

# The rows of a recipe section that belong to no method: the section's own switch and settings before the
# methods' rows, and after them the recovery stage that follows the pruning stage's methods.
SECTION_ROWS: dict[Section, tuple[tuple[FormRow, ...], tuple[FormRow, ...]]] = {
    "pruning": ((FormRow("pruning.enabled", "Prune, then recover by distillation", "check"),),
                (FormRow("pruning.recovery.epochs", "Recovery epochs", "line"),)),
    "quantization": ((FormRow("quantization.enabled", "Export and quantize to int8", "check"),
                      FormRow("quantization.mode", "Mode", "combo", choices={"static": "static (calibrated)"}),
                      FormRow("quantization.fusion", "Fuse attention / layer norm / GELU", "check"),
                      FormRow("quantization.per_channel", "Per-channel weight scales", "check"),
                      FormRow("quantization.calibration_batches", "Calibration batches", "spin"),
                      FormRow("quantization.min_agreement", "Min agreement", "line",
                              tip="share of predictions int8 must keep")), ()),
    "distillation": ((), ()),
}


def section_methods(section: Section) -> tuple[CompressionMethod, ...]:
    return tuple(method for method in METHODS if method.section == section)


def applying(config: Any, section: Section) -> list[CompressionMethod]:
    """The section's methods that this recipe section turns on, in order."""
    return [method for method in section_methods(section) if method.applies(config)]


def form_rows(section: Section) -> tuple[FormRow, ...]:
    """The window's form for a recipe section: its own rows, then each method's, then its closing ones."""
    head, tail = SECTION_ROWS[section]
    return head + tuple(row for method in section_methods(section) for row in method.form) + tail


def search_knobs() -> list[tuple[CompressionMethod, SearchKnob]]:
    """Every setting a search draws, with its method, in the order of the draws."""
    return [(method, knob) for method in METHODS for knob in method.search]


# The pipeline


def prunes_weights(pruning: PruningConfig) -> bool:
    """The pruning stage has work (vocabulary pruning acts apart, at scoring)."""
    return any(method.prune for method in applying(pruning, "pruning"))


def prune_as_recipe(student: Any, pruning: PruningConfig, batches: Iterable[Any] = ()) -> dict[str, dict[str, Any]]:
    """The pruning stage: each applying method's `prune` on the student in place, in order; their reports by the
    RunFolder property of the file each is written to. Each method reads every batch (`tee`: they are drawn from
    the loader once, and not at all when no method reads them)."""
    methods = [method for method in applying(pruning, "pruning") if method.prune]
    return {method.files[0]: method.prune(student, pruning, own)
            for method, own in zip(methods, itertools.tee(batches, len(methods)), strict=True)}


@contextlib.contextmanager
def while_training(student: Any) -> Iterator[None]:
    """What every training stage after the pruning stage runs inside (e.g. zeros kept zero), whatever the
    recipe says now: after a resume the saved model carries what the pruning stage did."""
    with contextlib.ExitStack() as stack:
        for method in METHODS:
            if method.while_training:
                stack.enter_context(method.while_training(student))
        yield


# What the card, the window and the report say


def pruning_sentence(pruning: PruningConfig, run: RunFolder) -> str:
    """The model card's pruning line: the pruning stage's methods, the recovery stage, then the others."""
    if not pruning.enabled:
        return "none"
    methods = applying(pruning, "pruning")
    parts = [method.describe(pruning, run) for method in methods if method.prune]
    if prunes_weights(pruning):
        parts.append(f"then {pruning.recovery.epochs:g} recovery epoch(s)")
    parts += [method.describe(pruning, run) for method in methods if not method.prune]
    return "; ".join(part for part in parts if part)


def pruning_estimate(pruning: PruningConfig, heads: int, ffn_size: int) -> str:
    """What the job's pruning will do to the estimated shape (the kept vocabulary is known only once the data
    is read)."""
    if not pruning.enabled:
        return "none (Compression → Pruning)"
    parts = [part for method in applying(pruning, "pruning") if (part := method.estimate(pruning, heads, ffn_size))]
    return "; ".join(parts) + " — sizes above are before it" if parts else "none (all ratios are 0)"


def pruning_tags(pruning: PruningConfig) -> list[str]:
    """A few words a method, for the window's step summary."""
    return section_tags(pruning, "pruning")


def section_tags(config: Any, section: Section) -> list[str]:
    """A few words for each of a recipe section's methods that apply, for the window's step summary."""
    return [tag for method in applying(config, section) if (tag := method.tag(config))]


def distillation_sentences(distillation: Any, run: RunFolder) -> list[str]:
    """The model card's words for the distillation section's methods that apply (the transfer set)."""
    return [part for method in applying(distillation, "distillation") if (part := method.describe(distillation, run))]


def report_sections(run: RunFolder) -> list[tuple[str, str]]:
    """(title, HTML) of each report section the methods fill from the run's files, in the registry's order."""
    sections: dict[str, str] = {PRUNING_REPORT: ""}
    for method in METHODS:
        sections[method.report_title] = sections.get(method.report_title, "") + method.report(run)
    return [(title, inner) for title, inner in sections.items() if inner]
