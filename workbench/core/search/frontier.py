"""The study's trials as rows, the Pareto frontier of measured int8 latency against dev accuracy, the best
candidate under budget, and what to say when no candidate meets it. Pure functions of rows, so that the
CLI, the window and the report agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from workbench.core.recipe_search import SearchBudget

COMPLETE, PRUNED, FAILED, RUNNING = "complete", "pruned", "failed", "running"
T = TypeVar("T")


@dataclass
class TrialRow:
    number: int
    state: str
    candidate: str = ""
    latency_ms: float | None = None
    size_mib: float | None = None
    teacher_int8_ms: float | None = None
    dev_accuracy: float | None = None
    test_accuracy: float | None = None  # the int8 student on the test split, from its job
    kept_teacher: float | None = None  # test accuracy / the teacher's
    kept_int8_teacher: float | None = None  # test accuracy / the fused int8 teacher's
    reason: str = ""
    run_dir: str = ""
    over_budget: bool = False
    on_frontier: bool = False
    speedup_int8_teacher: float | None = None  # the fused int8 teacher's latency / this one's, side by side

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRow:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def cost_violations(latency_ms: float, size_mib: float, budget: SearchBudget,
                    speedup: float | None = None) -> list[str]:
    """Why a measured candidate is over budget (empty: it may train); `speedup`: over the fused int8 teacher."""
    problems = []
    if budget.max_latency_ms is not None and latency_ms > budget.max_latency_ms:
        problems.append(f"int8 latency {latency_ms:.2f} ms > {budget.max_latency_ms:g} ms")
    minimum = budget.min_speedup_int8_teacher
    if minimum is not None and (speedup is None or speedup < minimum):
        shown = "unknown" if speedup is None else f"{speedup:.2f}x"
        problems.append(f"speed-up over the int8 teacher {shown} < {minimum:g}x")
    if budget.max_size_mib is not None and size_mib > budget.max_size_mib:
        problems.append(f"int8 size {size_mib:.1f} MiB > {budget.max_size_mib:g} MiB")
    return problems


def accuracy_violations(row: TrialRow, budget: SearchBudget) -> list[str]:
    """Why a trained candidate keeps too little accuracy (empty: it keeps enough, or no minimum is set)."""
    problems = []
    for kept, minimum, of in ((row.kept_teacher, budget.min_kept_teacher, "the teacher's"),
                              (row.kept_int8_teacher, budget.min_kept_int8_teacher, "the int8 teacher's")):
        if minimum is not None and (kept is None or kept < minimum):
            shown = "unknown" if kept is None else f"{kept:.1%}"
            problems.append(f"keeps {shown} of {of} accuracy < {minimum:.1%}")
    return problems


def mark(rows: list[TrialRow], budget: SearchBudget) -> list[TrialRow]:
    """Set each row's over_budget and on_frontier flags (in place) and return the rows by trial number."""
    for row in rows:
        measured = row.latency_ms is not None and row.size_mib is not None
        row.over_budget = bool((measured and cost_violations(row.latency_ms, row.size_mib, budget,
                                                             row.speedup_int8_teacher))
                               or (row.state == COMPLETE and accuracy_violations(row, budget)))
    front = {row.number for row in pareto_front(rows)}
    for row in rows:
        row.on_frontier = row.number in front
    return sorted(rows, key=lambda row: row.number)


def pareto_front(rows: list[TrialRow]) -> list[TrialRow]:
    """Trained rows that no other trained row beats on latency and dev accuracy at once, fastest first."""
    trained = [r for r in rows if r.state == COMPLETE and r.latency_ms is not None and r.dev_accuracy is not None]
    return pareto_frontier(trained, lambda row: row.latency_ms, lambda row: row.dev_accuracy)


def pareto_frontier(items: Iterable[T], latency: Callable[[T], float], accuracy: Callable[[T], float]) -> list[T]:
    """The items no other item beats, as fast or faster and as accurate or more, better on one; fastest first.
    The one frontier of the study and of the window's runs: exact ties (same latency and accuracy) all stay."""
    items = list(items)

    def dominated(item: T) -> bool:
        return any(latency(o) <= latency(item) and accuracy(o) >= accuracy(item)
                   and (latency(o) < latency(item) or accuracy(o) > accuracy(item)) for o in items)

    return sorted((item for item in items if not dominated(item)), key=latency)


def best_under_budget(rows: list[TrialRow], budget: SearchBudget) -> TrialRow | None:
    """The most accurate trained candidate within every budget (the faster one of equals)."""
    fitting = [r for r in rows if r.state == COMPLETE and None not in (r.dev_accuracy, r.latency_ms, r.size_mib)
               and not cost_violations(r.latency_ms, r.size_mib, budget, r.speedup_int8_teacher)
               and not accuracy_violations(r, budget)]
    return max(fitting, key=lambda r: (r.dev_accuracy, -r.latency_ms), default=None)


def closest(rows: list[TrialRow], budget: SearchBudget, count: int = 3) -> list[TrialRow]:
    """The measured candidates nearest the budget: ranked by their worst ratio of cost to limit."""
    measured = [r for r in rows if r.latency_ms is not None and r.size_mib is not None]

    def excess(row: TrialRow) -> float:
        ratios = [1.0]
        if budget.max_latency_ms is not None:
            ratios.append(row.latency_ms / budget.max_latency_ms)
        if budget.max_size_mib is not None:
            ratios.append(row.size_mib / budget.max_size_mib)
        if budget.min_speedup_int8_teacher is not None:
            ratios.append(budget.min_speedup_int8_teacher / row.speedup_int8_teacher if row.speedup_int8_teacher
                          else float("inf"))
        for kept, minimum in ((row.kept_teacher, budget.min_kept_teacher),
                              (row.kept_int8_teacher, budget.min_kept_int8_teacher)):
            if minimum is not None:
                ratios.append(minimum / kept if kept else float("inf"))
        return max(ratios)

    return sorted(measured, key=excess)[:count]


def describe_budget(budget: SearchBudget) -> str:
    parts = []
    if budget.max_latency_ms is not None:
        parts.append(f"int8 latency ≤ {budget.max_latency_ms:g} ms at batch {budget.batch} × {budget.seq_len} "
                     f"tokens on {budget.threads} threads")
    if budget.min_speedup_int8_teacher is not None:
        parts.append(f"≥ {budget.min_speedup_int8_teacher:g}x faster than the fused int8 teacher, timed side by side")
    if budget.max_size_mib is not None:
        parts.append(f"size ≤ {budget.max_size_mib:g} MiB")
    if budget.min_kept_teacher is not None:
        parts.append(f"≥ {budget.min_kept_teacher:.0%} of the teacher's accuracy")
    if budget.min_kept_int8_teacher is not None:
        parts.append(f"≥ {budget.min_kept_int8_teacher:.0%} of the int8 teacher's accuracy")
    return ", ".join(parts) or "no budget"


def no_candidate_message(rows: list[TrialRow], budget: SearchBudget) -> str:
    """One clear message naming the budget and the closest candidates, for a study none of whose candidates fit."""
    near = closest(rows, budget)
    if not near:
        return f"no candidate was measured against the budget ({describe_budget(budget)})"
    listed = "; ".join(f"trial {r.number} ({r.candidate}): {_figures(r)}" for r in near)
    return (f"no candidate meets the budget ({describe_budget(budget)}). Closest: {listed}. Loosen the budget "
            "or widen search.space (fewer layers, higher pruning ratios, vocabulary pruning)")


def format_table(rows: list[TrialRow], references: dict[str, dict[str, Any]]) -> str:
    """The frontier (and the reference models) as a plain-text table."""
    lines = [f"{'':<2}{'trial':>5}  {'candidate':<58} {'ms':>7} {'×int8 t.':>8} {'MiB':>7} {'dev acc':>8} "
             f"{'kept':>6} {'kept/int8':>9}"]
    for name, model in references.items():
        lines.append(f"{'':<2}{'ref':>5}  {name:<58} {model['latency_ms']:>7.2f} {'':>8} {model['size_mib']:>7.1f}")
    for row in pareto_front(rows):
        flag = "✗" if row.over_budget else "✓"
        speedup = "-" if row.speedup_int8_teacher is None else f"{row.speedup_int8_teacher:.2f}x"
        lines.append(f"{flag:<2}{row.number:>5}  {row.candidate[:58]:<58} {row.latency_ms:>7.2f} {speedup:>8} "
                     f"{row.size_mib:>7.1f} {row.dev_accuracy:>8.4f} {_share(row.kept_teacher):>6} "
                     f"{_share(row.kept_int8_teacher):>9}")
    return "\n".join(lines)


def _figures(row: TrialRow) -> str:
    accuracy = f", dev accuracy {row.dev_accuracy:.4f}" if row.dev_accuracy is not None else ""
    return f"{row.latency_ms:.2f} ms, {row.size_mib:.1f} MiB{accuracy}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
