"""A run's headline figures for a runs list, read from its files alone (nothing is loaded or run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import RecipeError
from workbench.core.run_folder import INT8_STUDENT, SHIPPED_PREFIX, RunFolder, read_json, run_folders
from workbench.core.safe_yaml import parse_yaml, read_recipe_text


@dataclass
class RunSummary:
    path: str
    name: str
    recipe: str
    status: str
    message: str
    started: float
    teacher_accuracy: float | None
    student_accuracy: float | None
    agreement: float | None
    student_mib: float | None
    resumable: bool
    int8_accuracy: float | None = None
    int8_mib: float | None = None
    int8_latency_ms: float | None = None  # batch 1 at the shortest measured length
    flags: list[str] = field(default_factory=list)  # what the numbers cannot claim (see run_flags)
    teacher_int8_latency_ms: float | None = None  # the fused int8 teacher: the reference a student must beat
    teacher_int8_accuracy: float | None = None
    data: str = "?"  # the recipe's data.source: two runs of one recipe on other data differ here

    @property
    def has_student(self) -> bool:
        return self.student_mib is not None


def list_runs(output_dir: str | Path) -> list[RunSummary]:
    """Every run under the output folder, newest first."""
    return sorted((summarize(run) for run in run_folders(output_dir)), key=lambda row: row.started, reverse=True)


def summarize(run: RunFolder) -> RunSummary:
    """The run's headline figures for a runs list, read from its files alone."""
    status, evaluation = run.status(), read_json(run.evaluation_path)
    summary = status if "student_accuracy" in status else {}
    bench = read_json(run.bench_path).get("models", {})

    def accuracy(section: str, summary_key: str) -> float | None:
        return _number(summary.get(summary_key, (evaluation.get(section) or {}).get("accuracy")))

    recipe = _recipe_data(run)
    weights = list(run.student_dir.glob("*.safetensors"))
    int8 = run.onnx_path(INT8_STUDENT)
    return RunSummary(
        path=str(run.path), name=run.path.name, recipe=_text(recipe.get("name")),
        status=str(status.get("status", "unknown")), message=str(status.get("message", "")),
        started=run.recipe_path.stat().st_mtime,
        teacher_accuracy=accuracy("teacher", "teacher_accuracy"),
        student_accuracy=accuracy("student", "student_accuracy"),
        agreement=_number(summary.get("agreement", evaluation.get("teacher_student_agreement"))),
        student_mib=sum(p.stat().st_size for p in weights) / 2**20 if weights else None,
        resumable=run.resumable,
        int8_accuracy=accuracy("student_int8", "student_int8_accuracy"),
        int8_mib=int8.stat().st_size / 2**20 if int8.is_file() else None,
        int8_latency_ms=_batch1_ms(bench.get("student-onnx-int8")),
        teacher_int8_latency_ms=_batch1_ms(bench.get("teacher-onnx-int8")),
        teacher_int8_accuracy=_number(((bench.get("teacher-onnx-int8") or {}).get("test") or {}).get("accuracy")),
        data=_text((recipe.get("data") if isinstance(recipe.get("data"), dict) else {}).get("source")),
        flags=run_flags(run),
    )


def failed_artifacts(parity: dict[str, Any] | None) -> set[str]:
    """The RUN/onnx artifacts (from parity.json) whose parity verdict is not "equivalent"."""
    return {r["artifact"] for r in (parity or {}).get("results", []) if not r["ok"]}


def run_flags(run: RunFolder) -> list[str]:
    """Every flag on a run, in sentences a stakeholder reads, from its files alone: its results' flags and
    latency timed on a busy machine (RUN/bench.json). The one list the CLI's closing lines, the report, the runs
    list, Try it, the Training step and presentation mode all show."""
    flags = result_flags(run)
    load = read_json(run.bench_path).get("load") or {}
    if isinstance(load, dict) and load.get("noisy"):
        flags.append(f"Latency figures are noisy: the machine was busy while they were timed ({load.get('reason')}); "
                     "rerun `workbench bench` on a quiet machine.")
    return flags


def result_flags(run: RunFolder) -> list[str]:
    """The flags on what a run's results can claim: the sanity checks (RUN/sanity.json) and a shipped student
    that failed its parity gate (RUN/onnx/parity.json). They depend on the results alone, so a resumed job
    reports the same ones as an uninterrupted one (status.json keeps them in the job's summary)."""
    flags = [str(f["message"]) for f in read_json(run.sanity_path).get("flags") or []
             if isinstance(f, dict) and f.get("message")]
    return flags + [f"{r['artifact']} is not shipped: {r.get('verdict', 'failed')} against PyTorch "
                    f"({r.get('message', '')})" for r in read_json(run.parity_path).get("results") or []
                    if isinstance(r, dict) and str(r.get("artifact", "")).startswith(SHIPPED_PREFIX)
                    and r.get("ok") is False]


def _recipe_data(run: RunFolder) -> dict[str, Any]:
    try:  # the recipe loader's bounds: run folders are sent around, and str() of an alias bomb never ends
        data = parse_yaml(read_recipe_text(run.recipe_path), str(run.recipe_path))
    except RecipeError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "?"


def _batch1_ms(model: dict[str, Any] | None) -> float | None:
    entries = [e for e in (model or {}).get("latency", []) if isinstance(e, dict) and e.get("batch") == 1]
    if not entries:
        return None
    shortest = min(entries, key=lambda e: e.get("seq_len", 0))
    return _number(shortest.get("median_ms"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
