"""Vocabulary pruning: the embedding rows of tokens the training and dev texts never use are dropped when the
student is scored and written (compress/vocab_pruning.py; the scoring stage asks `applies`)."""

from __future__ import annotations

from workbench.core.methods.html import size_text, table
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob
from workbench.core.recipe import PruningConfig
from workbench.core.run_folder import RunFolder, read_json


def applies(pruning: PruningConfig) -> bool:
    return pruning.enabled and pruning.vocabulary


def describe(pruning: PruningConfig, run: RunFolder) -> str:
    vocabulary = read_json(run.vocabulary_path)
    return ("vocabulary cut to the tokens the training texts use"
            + (f" ({vocabulary['vocab_after']:,} of {vocabulary['vocab_before']:,})" if vocabulary else ""))


def report(run: RunFolder) -> str:
    vocabulary, evaluation = read_json(run.vocabulary_path), read_json(run.evaluation_path)
    if not vocabulary:
        return ""
    rows = [["tokens in the vocabulary", f"{vocabulary['vocab_before']:,}",
             f"{vocabulary['vocab_after']:,} ({vocabulary['vocab_after'] / vocabulary['vocab_before']:.0%})"],
            ["embedding parameters saved", "", f"{vocabulary['parameters_saved']:,} "
             f"({size_text(vocabulary['fp32_bytes_saved'])} in fp32)"]]
    if "student_full_vocabulary" in evaluation:
        full, pruned = evaluation["student_full_vocabulary"]["accuracy"], evaluation["student"]["accuracy"]
        rows.append(["student test accuracy", f"{full:.1%}", f"{pruned:.1%} ({(pruned - full) * 100:+.1f} points)"])
    return "<h3>Vocabulary pruning</h3>" + table(["", "before", "after"], rows) + (
        "<p>Only the tokens of the training and dev texts are kept (plus special tokens and the margin); "
        "test texts were unseen, so the accuracy change is an honest measure.</p>")


VOCABULARY = CompressionMethod(
    name="vocabulary pruning", section="pruning", stage="scoring", keys=("vocabulary", "vocabulary_margin"),
    applies=applies, describe=describe, estimate=lambda pruning, heads, ffn: "vocabulary trimmed to the data's tokens",
    tag=lambda pruning: "vocabulary", files=("vocabulary_path",), report=report,
    search=(SearchKnob("vocabulary", "vocabulary", "vocabulary", lambda pruned: "vocab pruned" if pruned else ""),),
    form=(FormRow("pruning.vocabulary", "Trim the vocabulary to tokens the data uses", "check"),
          FormRow("pruning.vocabulary_margin", "Vocabulary margin", "spin")))
