"""What a search reports while it runs: the CLI prints these, the window plots them. A trial's own job
events come wrapped in `TrialProgress`, so a window can show the training of the candidate in hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.events import Event


@dataclass
class StudyOpened(Event):
    study_dir: str
    study_name: str
    storage: str
    finished_trials: int  # kept from earlier workers or an interrupted run


@dataclass
class ReferencesMeasured(Event):
    models: dict[str, dict[str, Any]]  # name -> latency_ms, size_mib


@dataclass
class CandidateMeasured(Event):
    trial: int
    candidate: dict[str, Any]
    description: str
    cost: dict[str, float]
    over_budget: list[str]  # why it will not be trained; empty when it will


@dataclass
class TrialProgress(Event):
    trial: int
    event: Event


@dataclass
class TrialDone(Event):
    row: dict[str, Any]  # frontier.TrialRow.to_dict()


@dataclass
class SearchFinished(Event):
    study_dir: str
    status: str  # "finished" | "cancelled"
    rows: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    message: str = ""


def describe_search(event: Event) -> str | None:
    """One line per search event worth a line (the job's own events inside a trial are left out)."""
    if isinstance(event, StudyOpened):
        kept = f", {event.finished_trials} finished trials kept" if event.finished_trials else ""
        return f"● study {event.study_dir} ({event.storage}){kept}"
    if isinstance(event, ReferencesMeasured):
        return "  references: " + ", ".join(f"{name} {m['latency_ms']:.2f} ms {m['size_mib']:.1f} MiB"
                                            for name, m in event.models.items())
    if isinstance(event, CandidateMeasured):
        verdict = "over budget: " + "; ".join(event.over_budget) if event.over_budget else "training"
        cost = event.cost
        return (f"▶ trial {event.trial}: {cost['latency_ms']:.2f} ms, {cost['size_mib']:.1f} MiB "
                f"(timed {cost['measured_ms']:.2f} ms beside the int8 teacher's {cost['teacher_int8_ms']:.2f}): "
                f"{verdict}")
    if isinstance(event, TrialDone):
        row = event.row
        accuracy = f", dev accuracy {row['dev_accuracy']:.4f}" if row.get("dev_accuracy") is not None else ""
        reason = f" ({row['reason']})" if row.get("reason") else ""
        return f"■ trial {row['number']} {row['state']}{accuracy}{reason}"
    if isinstance(event, SearchFinished):
        return f"● search {event.status}: {event.study_dir}"
    return None
