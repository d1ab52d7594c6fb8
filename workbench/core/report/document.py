"""The run report: RUN/report/index.html and its PNG charts beside it, a page to hand to stakeholders.

The page has no network assets and no script, and names its images relative to itself, so the folder can be
opened from disk, zipped, mailed or printed. It shows whatever the run folder has: a run that is not
benchmarked, exported or finished yet gets a report that says so instead of failing.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.distill.mapping import MappingError, pair_losses, recipe_mapping
from workbench.core.methods.registry import report_sections
from workbench.core.recipe import Recipe
from workbench.core.report.charts import Link, StageCurve, accuracy_chart, confusion_chart, loss_chart, mapping_chart
from workbench.core.report.headline import latency_shape, run_headline
from workbench.core.report.sections import (
    benchmark_section,
    figure,
    parity_section,
    section,
    timings_section,
)
from workbench.core.run_folder import SHIPPED_PREFIX, RunFolder, atomic_write, read_json
from workbench.core.run_summary import failed_artifacts, run_flags
from workbench.core.sources.models import folder_trust

STAGE_TITLES = {"teacher_finetune": "teacher fine-tuning", "general": "general distillation",
                "intermediate": "intermediate layers (stage 1)", "prediction": "prediction layer (stage 2)",
                "recovery": "recovery after pruning"}
LINK_KINDS = {(True, True): "hidden+attention", (True, False): "hidden", (False, True): "attention",
              (False, False): "off"}  # (hidden loss on, attention loss on) -> line style of the mapping chart
CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #212121; max-width: 1100px;
       margin: 0 auto; padding: 24px; line-height: 1.45; }
h1 { margin-bottom: 2px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
.meta, .muted, figcaption { color: #616161; font-size: 14px; }
.headline { font-size: 28px; font-weight: 700; background: #e8f5e9; border-left: 6px solid #43a047;
            padding: 14px 20px; margin: 20px 0 6px; }
.headline.flagged { background: #fff8e1; border-left-color: #ff8f00; }  /* amber: not a success to celebrate */
.flag { color: #c62828; font-weight: 700; }
.banner { border: 2px solid #c62828; background: #ffebee; padding: 10px 14px; margin: 16px 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f5f5; } tr.failed td { background: #ffebee; }
figure { margin: 12px 0; break-inside: avoid; } img { max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 8px 16px; }
pre { background: #f5f5f5; padding: 12px; font-size: 12px; white-space: pre-wrap; column-width: 300px; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } table { break-inside: avoid; } }
"""


@dataclass(frozen=True)
class RunFiles:
    """Everything the report reads; a file the run has not written yet is None."""

    path: Path
    recipe: Recipe
    recipe_text: str
    status: dict[str, Any]
    metrics: list[dict[str, Any]]
    evaluation: dict[str, Any] | None
    bench: dict[str, Any] | None
    parity: dict[str, Any] | None
    timings: dict[str, Any] | None
    labels: list[str]

    @classmethod
    def read(cls, run: RunFolder) -> RunFiles:
        def optional(path: Path) -> Any:
            return read_json(path) or None

        evaluation, data = optional(run.evaluation_path), optional(run.data_manifest_path) or {}
        labels = data.get("label_names") or list((evaluation or {}).get("teacher", {}).get("per_class", {}))
        return cls(run.path, run.recipe(), run.recipe_path.read_text(encoding="utf-8"), run.status(),
                   run.metrics(), evaluation, optional(run.bench_path), optional(run.parity_path),
                   optional(run.timings_path), labels)

    @property
    def failed_artifacts(self) -> set[str]:
        return failed_artifacts(self.parity)


def write_report(run_dir: str | Path) -> Path:
    """Write RUN/report/index.html and its charts from what the run folder holds; return the page's path."""
    folder = RunFolder.open(run_dir)
    run = RunFiles.read(folder)
    out = folder.report_dir
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.png"):  # charts of an earlier report that this one may no longer draw
        stale.unlink()
    shape = latency_shape(run.bench, run.recipe.data.max_length) if run.bench else None
    body = "".join([
        _header(run), _headline(run), benchmark_section(run.bench, shape, run.failed_artifacts, out),
        _training_section(run.metrics, out), _mapping_section(run, out), _evaluation_section(run, out),
        *_method_sections(run), parity_section(run.parity), timings_section(run.timings),
        section("Recipe", f"<pre>{html.escape(run.recipe_text)}</pre>"),
    ])
    title = html.escape(f"Compression report: {run.recipe.name}")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
    return atomic_write(out / "index.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _method_sections(run: RunFiles) -> list[str]:
    """Each compression method's part of the report (methods/registry.py), in sections by title."""
    return [section(title, inner) for title, inner in report_sections(RunFolder(run.path))]


def _header(run: RunFiles) -> str:
    status = run.status.get("status", "unknown")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.status["time"])) if "time" in run.status else ""
    meta = " · ".join(filter(None, [run.path.name, status, when, run.recipe.description]))
    unfinished = (f'<p class="flag">This run is {html.escape(status)}: the report shows what it has so far.</p>'
                  if status != "finished" else "")
    return (f"<header><h1>Compression report: {html.escape(run.recipe.name)}</h1>"
            f'<p class="meta">{html.escape(meta)}</p>{unfinished}</header>')


def _headline(run: RunFiles) -> str:
    headline = run_headline(run.path)
    banner = ""
    # A reference teacher off its gate is marked in the tables, never a banner over the student's result.
    if students := sorted(name for name in run.failed_artifacts if name.startswith(SHIPPED_PREFIX)):
        banner = (f'<div class="banner"><span class="flag">⚠ Not shipped: {html.escape(", ".join(students))} failed '
                  "the parity check against PyTorch.</span> The headline speaks for the best student that passed; "
                  "the failed artifacts are shown below for reference only.</div>")
    flags = "".join(f'<li class="flag">⚠ {html.escape(flag)}</li>' for flag in run_flags(RunFolder(run.path)))
    return (f'{banner}<p class="headline{" flagged" if flags else ""}">{html.escape(headline.text)}</p>'
            + (f'<ul class="flags">{flags}</ul>' if flags else "")
            + f'<p class="muted">{html.escape(headline.basis)}</p>')


def _stage_title(stage: str) -> str:
    return STAGE_TITLES.get(stage, stage.replace("_", " "))


def _training_section(metrics: list[dict[str, Any]], out: Path) -> str:
    losses: dict[str, dict[int, dict[str, float]]] = {}
    evaluations: dict[str, dict[int, float]] = {}
    lengths: dict[str, int] = {}
    for record in metrics:  # a resumed run logs some steps twice; the later record is the one that counts
        event, stage = record.get("event"), record.get("stage", "")
        if event == "StageStarted":
            lengths[stage] = record["total_steps"]
        elif event == "Step":
            losses.setdefault(stage, {})[record["step"]] = record["losses"]
        elif event == "Evaluation":
            evaluations.setdefault(stage, {})[record["step"]] = record["metrics"]["accuracy"]
    if not losses:
        return section("Training", '<p class="muted">No training steps logged yet.</p>')
    figures = []
    for stage, steps in losses.items():
        names = list(dict.fromkeys(c for components in steps.values() for c in components if c != "total"))
        # The total is the sum of the components: beside a single component it would only hide it.
        shown = [*names, "total"] if len(names) > 1 else names or ["total"]
        components = {c: [(s, v[c]) for s, v in sorted(steps.items()) if c in v] for c in shown}
        src = out / f"loss-{re.sub(r'[^a-z0-9]+', '-', stage.lower())}.png"
        log = loss_chart(_stage_title(stage), {c: p for c, p in components.items() if p}, src)
        figures.append(figure(src, f"Loss curves of {_stage_title(stage)}: {', '.join(components)} against "
                                   f"training step{' on a log scale' if log else ''}."))
    inner = f"<h3>Loss per stage</h3><div class=\"grid\">{''.join(figures)}</div>"
    if evaluations:
        inner += _accuracy_figure(evaluations, lengths, out)
    return section("Training", inner)


def _accuracy_figure(evaluations: dict[str, dict[int, float]], lengths: dict[str, int], out: Path) -> str:
    curves, offset = [], 0
    for stage, points in evaluations.items():
        length = max(lengths.get(stage, 0), *points)
        curves.append(StageCurve(_stage_title(stage), offset, length, sorted(points.items())))
        offset += length
    src = accuracy_chart(curves, out / "dev-accuracy.png")
    finals = "; ".join(f"{c.name} {c.points[-1][1]:.1%}" for c in curves)
    caption = ("Teacher fine-tuning scores the teacher; the other stages score the student. The intermediate "
               "stage trains only the layers below the classifier, so its accuracy is not meaningful yet."
               if "intermediate" in evaluations else "")
    return "<h3>Dev accuracy per evaluation</h3>" + figure(
        src, f"Dev accuracy at every evaluation, per stage; last evaluation of each: {finals}.", caption)


def _mapping_section(run: RunFiles, out: Path) -> str:
    from transformers import AutoConfig

    from workbench.core.sources.families import family_of

    folder = RunFolder(run.path)
    folders = [folder.teacher_dir, folder.student_dir]
    if not all((f / "config.json").is_file() for f in folders):
        return section("Layer mapping", '<p class="muted">Drawn once the run has written teacher and student.</p>')
    configs = [AutoConfig.from_pretrained(f, trust_remote_code=folder_trust(f)) for f in folders]
    teacher_layers, student_layers = (family_of(c).num_layers(c) for c in configs)
    recipe = run.recipe
    try:
        mapping = recipe_mapping(recipe.mapping, student_layers, teacher_layers)
    except MappingError as error:
        return section("Layer mapping", f'<p class="flag">{html.escape(str(error))}</p>')
    weights = recipe.distillation.weights
    links = [Link(0, 0, "outer" if weights.embedding > 0 else "off")]
    for m, n in mapping.pairs:
        links.append(Link(m, n, LINK_KINDS[pair_losses(m, n, recipe.mapping, weights)]))
    links.append(Link(student_layers + 1, teacher_layers + 1, "outer" if weights.prediction > 0 else "off"))
    pairs = ", ".join(f"student layer {m} ← teacher {'embeddings' if n == 0 else f'layer {n}'}" for m, n in
                      mapping.pairs)
    src = mapping_chart(teacher_layers, student_layers, links, out / "layer-mapping.png")
    caption = f"Mode '{recipe.mapping.mode}': {pairs}." + (f" {mapping.note}." if mapping.note else "")
    return section("Layer mapping", figure(
        src, f"Layer mapping drawn as boxes and lines: teacher with {teacher_layers} layers, student with "
             f"{student_layers}; {pairs}.", caption))


def _evaluation_section(run: RunFiles, out: Path) -> str:
    evaluation = run.evaluation
    if not evaluation:
        return section("Test-split results",
                        '<p class="muted">Not evaluated yet: the test split is scored when the run finishes.</p>')
    models = [(name, evaluation[key]) for key, name in (("teacher", "teacher"), ("student_full_vocabulary",
              "student, full vocabulary"), ("student", "student")) if key in evaluation]
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{m['accuracy']:.1%}</td><td>{m['macro_f1']:.3f}</td>"
                   f"<td>{m['examples']}</td></tr>" for name, m in models)
    table = (f"<table><tr><th>model</th><th>accuracy</th><th>macro-F1</th><th>examples</th></tr>{rows}</table>"
             f"<p>Teacher and student agree on {evaluation['teacher_student_agreement']:.1%} of the test texts.</p>")
    labels = run.labels or [str(i) for i in range(len(models[0][1]["confusion_matrix"]))]
    src = confusion_chart([(f"{name} · accuracy {m['accuracy']:.1%}", m["confusion_matrix"]) for name, m in models],
                          labels, out / "confusion-matrices.png")
    per_class = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{models[0][1]['per_class'][label]['support']}</td>"
        + "".join(f"<td>{m['per_class'][label]['f1']:.3f}</td>" for _, m in models) + "</tr>"
        for label in labels if label in models[0][1].get("per_class", {}))
    per_class_table = ("<table><tr><th>class</th><th>support</th>"
                       + "".join(f"<th>F1 {html.escape(name)}</th>" for name, _ in models)
                       + f"</tr>{per_class}</table>") if per_class else ""
    alt = (f"Confusion matrices of {', '.join(name for name, _ in models)} on the test split, true class in "
           f"rows and predicted class in columns, classes {', '.join(labels)}.")
    return section("Test-split results", table + figure(
        src, alt, "Each cell: count and share of its true class.") + per_class_table)
