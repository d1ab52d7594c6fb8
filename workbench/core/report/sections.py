"""HTML pieces of the run report for the deployment side: the benchmark and parity (each compression method
writes its own part: methods/).

Every value that comes from a file is escaped; cells are built here so that report.py stays the page's outline.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from workbench.core.measure.machine_load import noisy_note
from workbench.core.methods.html import size_text, table
from workbench.core.report.charts import failed_label, pareto_chart
from workbench.core.report.headline import pareto_points, shipped
from workbench.core.run_folder import SHIPPED_PREFIX


def section(title: str, inner: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{inner}</section>"


def figure(src: Path, alt: str, caption: str = "") -> str:
    caption_html = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{html.escape(src.name)}" alt="{html.escape(alt)}">{caption_html}</figure>'


def benchmark_section(bench: dict[str, Any] | None, shape: tuple[int, int] | None, failed_artifacts: set[str],
                      out: Path) -> str:
    if not bench:
        return section("Accuracy, speed and size", '<p class="muted">Not benchmarked yet: '
                       "<code>workbench bench RUN_DIR</code> measures every model side by side.</p>")
    models = bench["models"]
    inner = ""
    points = pareto_points(bench, shape, failed_artifacts) if shape else []
    if points:
        title = f"batch {shape[0]}, sequence {shape[1]}, {bench.get('threads', '?')} threads"
        src = pareto_chart(points, title, out / "pareto.png")
        described = "; ".join(f"{p.name}: {p.accuracy:.1%} at {p.latency_ms:.2f} ms, {size_text(p.size_bytes)}"
                              for p in points)
        inner += figure(src, f"Pareto chart of test accuracy against median latency ({title}), bubble area "
                             f"proportional to size on disk. {described}.",
                        "Up and to the left is better; the bubble's area is the model's size on disk.")
    shapes = sorted({(e["batch"], e["seq_len"]) for m in models.values() for e in m.get("latency", [])})
    header = ["model", "size", "peak memory", "test accuracy", "macro-F1",
              *(f"batch {b}, seq {s}: median / p95 ms" for b, s in shapes)]
    rows, failed = [], []
    for name, model in models.items():
        latency = {(e["batch"], e["seq_len"]): e for e in model.get("latency", [])}
        test = model.get("test", {})
        is_shipped = shipped(model, failed_artifacts)
        rows.append([
            html.escape(name) + ("" if is_shipped else f'<br><span class="flag">{failed_label(name)}</span>'),
            size_text(model["size_bytes"]), _size_or_dash(model.get("peak_memory_bytes")),
            f"{test['accuracy']:.1%}" if test else "–", f"{test['macro_f1']:.3f}" if test else "–",
            *(f"{latency[s]['median_ms']:.2f} / {latency[s]['p95_ms']:.2f}" if s in latency else "–"
              for s in shapes)])
        failed.append(not is_shipped)
    machine = bench.get("machine", {})
    notes = (f"Threads: {bench.get('threads', '?')} for PyTorch and ONNX Runtime alike. "
             f"{bench.get('protocol', '')}. Memory: {bench.get('memory_method', '')}. "
             f"torch {machine.get('torch', '?')}, onnxruntime {machine.get('onnxruntime', '?')}, "
             f"{machine.get('platform', '')}.")
    noisy = noisy_note(bench)
    warning = f'<p class="flag">⚠ Latency figures are {html.escape(noisy)}.</p>' if noisy else ""
    notes += f" Measured on {machine['hardware']}." if machine.get("hardware") else ""
    return section("Accuracy, speed and size",
                   warning + inner + table(header, rows, failed) + f'<p class="muted">{html.escape(notes)}</p>')


def parity_section(parity: dict[str, Any] | None) -> str:
    if not parity:
        return section("Parity of exported models",
                       '<p class="muted">Not checked yet: no ONNX artifacts have been checked against PyTorch.</p>')
    results = parity.get("results", [])
    rows = [[html.escape(r["artifact"]), str(r["examples"]),
             f"{r['agreement']:.2%} (≥ {r['min_agreement']:.0%})" + _near_ties(r),
             f"{_figure(r, 'noise')} (≤ {r['max_logit_delta_allowed']:g}); max {_figure(r, 'max_logit_delta')}",
             _accuracy(r), _verdict(r)] for r in results]
    failed = [r for r in results if not r["ok"]]
    summary = ("Every artifact answers like its PyTorch model." if not failed
               else '<span class="flag">Some artifacts differ from PyTorch; students among them are not '
               "shipped.</span>" if any(r["artifact"].startswith(SHIPPED_PREFIX) for r in failed)
               else '<span class="flag">A reference model differs from PyTorch: it is marked below, and every '
               "student is unaffected.</span>")
    split = html.escape(parity.get("split", "dev"))
    return section("Parity of exported models", f"<p>{summary} Checked on the {split} split. Labels are compared "
                   "over examples whose PyTorch margin exceeds the measured numeric noise (near-ties, which any "
                   "rounding may flip, are counted apart); logits are judged by the 95th percentile of |Δlogit| (the "
                   "largest is shown, not judged); accuracy by a paired test with its 95 % confidence interval.</p>"
                   + table(["artifact", "examples", "label agreement", "|Δlogit| p95", "dev accuracy vs PyTorch",
                            "verdict"], rows, [not r["ok"] for r in results]))


def _figure(result: dict[str, Any], key: str) -> str:
    value = result.get(key)
    return "–" if value is None else f"{value:.3g}"


def _near_ties(result: dict[str, Any]) -> str:
    return f"; {result['near_tie_flips']} of {result['near_ties']} near-ties flipped" if "near_ties" in result else ""


def _accuracy(result: dict[str, Any]) -> str:
    if result.get("accuracy_difference") is None:
        return "–"
    return (f"{100 * result['accuracy_difference']:+.1f} points (95 % CI {100 * result['ci_low']:+.1f}.."
            f"{100 * result['ci_high']:+.1f})")


def _verdict(result: dict[str, Any]) -> str:
    verdict = result.get("verdict", "equivalent" if result["ok"] else "broken")
    if result["ok"]:
        return f"{verdict}, shipped" if result["artifact"].startswith(SHIPPED_PREFIX) else f"{verdict}, reference"
    if not result["artifact"].startswith(SHIPPED_PREFIX):
        return f'<span class="flag">{html.escape(verdict)}: reference only</span>'
    return f'<span class="flag">{html.escape(verdict)}: {failed_label(result["artifact"])}</span>'


def timings_section(timings: dict[str, Any] | None) -> str:
    """Where the job's time went, phase by phase (RUN/timings.json)."""
    phases = (timings or {}).get("phases") or {}
    if not phases:
        return ""
    total = sum(phases.values()) or 1.0
    rows = [[html.escape(name), f"{seconds:.1f} s", f"{100 * seconds / total:.0f}%"]
            for name, seconds in phases.items()]
    return section("Where the time went", table(["phase", "wall time", "share"], rows)
                   + f"<p>{total:.0f} s in all, from reading the data to the last measurement.</p>")


def _size_or_dash(size: int | None) -> str:
    return size_text(size) if size is not None else "–"
