"""Structured pruning: the least important attention heads and FFN neurons removed, by ratio or by threshold
(compress/pruning.py does it), before the recovery stage."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from workbench.core.methods.html import table
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob, description
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder, read_json

UNITS = {"both": "attention heads and FFN neurons", "heads": "attention heads", "ffn": "FFN neurons"}


def applies(pruning: PruningConfig) -> bool:
    return pruning.enabled and pruning.structured


def prune(student: Any, pruning: PruningConfig, batches: Iterable[Any]) -> dict[str, Any]:
    from workbench.core.compress.pruning import prune as prune_units

    _, report = prune_units(student, pruning.heads_ratio, pruning.ffn_ratio, pruning.importance, batches,
                            pruning.threshold, pruning.threshold_units)
    return report.to_dict()


def describe(pruning: PruningConfig, run: RunFolder) -> str:
    if pruning.threshold is not None:
        return (f"{UNITS[pruning.threshold_units]} below {pruning.threshold:g} of their layer's highest "
                f"{pruning.importance} importance removed")
    return (f"{pruning.heads_ratio:.0%} of attention heads and {pruning.ffn_ratio:.0%} of FFN neurons removed by "
            f"{pruning.importance} importance")


def estimate(pruning: PruningConfig, heads: int, ffn_size: int) -> str:
    from workbench.core.compress.pruning import removed_count  # torch is loaded by now: the estimate needed it

    parts = [f"{name} {total} → {total - removed_count(total, ratio)} per layer"
             for name, total, ratio in (("heads", heads, pruning.heads_ratio), ("FFN", ffn_size, pruning.ffn_ratio))
             if removed_count(total, ratio)]
    if pruning.threshold is not None:
        units = {"both": "heads and FFN neurons", "heads": "heads", "ffn": "FFN neurons"}[pruning.threshold_units]
        parts.append(f"{units} below {pruning.threshold:g} of their layer's strongest removed (how many is known "
                     "once they are ranked)")
    return "; ".join(parts)


def tag(pruning: PruningConfig) -> str:
    return ", ".join(f"{name} −{ratio:.0%}" for name, ratio in (("heads", pruning.heads_ratio),
                                                                ("FFN", pruning.ffn_ratio)) if ratio)


def report(run: RunFolder) -> str:
    pruning = read_json(run.pruning_path)
    if not pruning:
        return ""
    before, after = pruning["parameters_before"], pruning["parameters_after"]
    return "<h3>Structured pruning</h3>" + table(["", "before", "after"], [
        ["attention heads per layer", str(pruning["heads_before"]), str(pruning["heads_after"])],
        ["FFN neurons per layer (widest)", str(pruning["ffn_before"]), str(pruning["ffn_after"])],
        ["parameters", f"{before:,}", f"{after:,} ({after / before:.0%})"],
    ]) + (f'<p>Importance: {html.escape(pruning["importance"])}; then a recovery stage of distillation.</p>'
          + pruning_per_layer(pruning))


def pruning_per_layer(pruning: dict[str, Any]) -> str:
    """How many heads and FFN neurons each layer lost, and by which rule."""
    removed_heads, removed_neurons = pruning["removed_heads"], pruning["removed_neurons"]
    widths = pruning.get("ffn_per_layer") or [pruning["ffn_after"]] * len(removed_heads)
    below = pruning.get("heads_below_threshold")
    rows = [[str(i + 1), str(len(heads)), *([str(below[i])] if below else []), str(len(neurons)), str(width)]
            for i, (heads, neurons, width) in enumerate(zip(removed_heads, removed_neurons, widths, strict=True))]
    header = ["layer", "heads removed", *(["heads below threshold"] if below else []), "FFN neurons removed",
              "FFN neurons left"]
    if pruning.get("criterion") == "threshold":
        rule = (f"Threshold {pruning['threshold']:g}: every FFN neuron whose importance divided by its layer's "
                "highest is below it was removed, so layers may keep different widths. Heads: the same number "
                "from every layer (the model takes one head count), the fewest any layer had below the "
                "threshold; none at or above it was removed.")
    else:
        rule = "Ratios: the same number removed from every layer."
    return f"<p>{html.escape(rule)}</p>" + table(header, rows)


STRUCTURED = CompressionMethod(
    name="structured pruning", section="pruning", stage="pruning",
    keys=("importance", "heads_ratio", "ffn_ratio", "threshold", "threshold_units"),
    applies=applies, describe=describe, estimate=estimate, tag=tag, files=("pruning_path",), report=report,
    prune=prune,
    search=(SearchKnob("ffn_ratio", "ffn_ratio", "ffn_ratios", lambda ratio: f"FFN -{ratio:.0%}" if ratio else ""),
            SearchKnob("heads_ratio", "heads_ratio", "heads_ratios",
                       lambda ratio: f"heads -{ratio:.0%}" if ratio else "")),
    form=(FormRow("pruning.importance", "Importance", "combo", choices={
              "gradient": "gradient (dev batches)", "l1": "L1 weight norm", "l2": "L2 weight norm",
              "magnitude": "magnitude (older name of L2)"}),
          FormRow("pruning.heads_ratio", "Heads to remove", "line", tip="fraction, 0 ≤ x < 1"),
          FormRow("pruning.ffn_ratio", "FFN neurons to remove", "line", tip="fraction"),
          FormRow("pruning.threshold", "Or: importance threshold", "line", "optional_float", "off: use the ratios",
                  description(PruningConfig, "threshold")),
          FormRow("pruning.threshold_units", "Threshold applies to", "combo", choices={
              "both": "heads and FFN neurons", "heads": "heads only", "ffn": "FFN neurons only"})))
