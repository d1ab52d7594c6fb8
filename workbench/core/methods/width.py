"""Hidden-width pruning: the least important hidden (residual-stream) channels removed, ranked by their
activations at every LayerNorm as the Minitron papers do, and the heads that no longer fit with them
(compress/width.py does it). It runs after structured pruning, which then ranks FFN neurons on the full model,
and before sparsity, which then zeroes a share of the narrower weights."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from workbench.core.methods.html import table
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob, description
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder, read_json


def applies(pruning: PruningConfig) -> bool:
    return pruning.enabled and pruning.hidden_ratio > 0


def prune(student: Any, pruning: PruningConfig, batches: Iterable[Any]) -> dict[str, Any]:
    from workbench.core.compress.width import prune_width

    return prune_width(student, pruning.hidden_ratio, pruning.importance, batches)


def describe(pruning: PruningConfig, run: RunFolder) -> str:
    width = read_json(run.width_path)
    shape = f" ({width['hidden_before']} → {width['hidden_after']})" if width else ""
    return f"{pruning.hidden_ratio:.0%} of hidden channels removed by activation importance{shape}"


def estimate(pruning: PruningConfig, heads: int, ffn_size: int) -> str:
    return (f"hidden width −{pruning.hidden_ratio:.0%}, rounded down to whole heads (the heads shrink with it: "
            "the kept width is known once the model's head size is read)")


def tag(pruning: PruningConfig) -> str:
    return f"width −{pruning.hidden_ratio:.0%}"


def report(run: RunFolder) -> str:
    width = read_json(run.width_path)
    if not width:
        return ""
    before, after = width["parameters_before"], width["parameters_after"]
    return "<h3>Hidden-width pruning</h3>" + table(["", "before", "after"], [
        ["hidden width", str(width["hidden_before"]), str(width["hidden_after"])],
        ["attention heads per layer", str(width["heads_before"]), str(width["heads_after"])],
        ["parameters", f"{before:,}", f"{after:,} ({after / before:.0%})"],
    ]) + (f"<p>Channels ranked by {html.escape(width['ranking'])}; heads by {html.escape(width['head_importance'])} "
          f"importance, {width['head_size']} channels each.</p>")


WIDTH = CompressionMethod(
    name="hidden-width pruning", section="pruning", stage="pruning", keys=("hidden_ratio",),
    applies=applies, describe=describe, estimate=estimate, tag=tag, files=("width_path",), report=report,
    prune=prune,
    search=(SearchKnob("hidden_ratio", "hidden_ratio", "hidden_ratios",
                       lambda ratio: f"width -{ratio:.0%}" if ratio else "", absent=0.0),),
    form=(FormRow("pruning.hidden_ratio", "Hidden channels to remove", "line", tip="fraction, 0 ≤ x < 1; "
                  + description(PruningConfig, "hidden_ratio")),))
