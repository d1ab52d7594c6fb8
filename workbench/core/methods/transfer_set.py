"""The transfer set: word-replaced copies of the training texts and unlabelled text, labelled by the
fine-tuned teacher, added to what task distillation trains on (distill/transfer.py says how they are
labelled; stages/inputs.py builds the set and records its size in RUN/transfer.json)."""

from __future__ import annotations

import html

from workbench.core.methods.html import table
from workbench.core.methods.method import CompressionMethod, FormRow, SearchKnob, description
from workbench.core.recipe import DistillationConfig, TransferConfig
from workbench.core.run_folder import RunFolder, read_json


def applies(distillation: DistillationConfig) -> bool:
    return bool(distillation.transfer.copies or distillation.transfer.source)


def describe(distillation: DistillationConfig, run: RunFolder) -> str:
    transfer, counts = distillation.transfer, read_json(run.transfer_path)
    parts = [f"{transfer.copies} word-replaced copies of each training text" if transfer.copies else "",
             f"unlabelled text from `{transfer.source}`" if transfer.source else ""]
    rows = f" ({counts['transfer_rows']:,} rows)" if counts else ""
    return (f"a transfer set labelled by the teacher{rows}: " + " and ".join(filter(None, parts))
            + "; the student learns the teacher's answer on it, never the original text's label")


def tag(distillation: DistillationConfig) -> str:
    transfer = distillation.transfer
    return "transfer " + " + ".join(filter(None, [f"×{transfer.copies}" if transfer.copies else "",
                                                  "text" if transfer.source else ""]))


def report(run: RunFolder) -> str:
    counts = read_json(run.transfer_path)
    if not counts:
        return ""
    return "<h3>Transfer set</h3>" + table(["", "rows"], [
        ["labelled training rows (their own labels)", f"{counts['training_rows']:,}"],
        ["word-replaced copies (the teacher's labels)", f"{counts['copies']:,}"],
        ["unlabelled text (the teacher's labels)", f"{counts['source_rows']:,}"],
    ]) + ("<p>" + html.escape("Both task-distillation stages (and recovery and QAT) train on these rows; wherever "
                              "a hard label is used, a transfer row's is the fine-tuned teacher's argmax.") + "</p>")


TRANSFER_SET = CompressionMethod(
    name="transfer set", section="distillation", stage="intermediate",
    keys=("transfer.copies", "transfer.source", "transfer.text_column", "transfer.max_rows"),
    applies=applies, describe=describe, tag=tag, files=("transfer_path",), report=report,
    report_title="Distillation data",
    search=(SearchKnob("transfer_copies", "transfer.copies", "transfer_copies",
                       lambda copies: f"transfer ×{copies}" if copies else "", absent=0),),
    form=(FormRow("distillation.transfer.copies", "Teacher-labelled copies per text", "spin",
                  tip=description(TransferConfig, "copies")),
          FormRow("distillation.transfer.source", "Unlabelled text for the teacher to label", "line", "optional_str",
                  "a text file (one text a line) or a data file", description(TransferConfig, "source")),
          FormRow("distillation.transfer.max_rows", "Most rows of that text", "line", "optional_int", "all")))
