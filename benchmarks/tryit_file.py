"""Try-it "Load file…" on many lines: throughput, the longest stall of the window's event loop, peak memory.

The panel classifies every line of a generated file with the run's teacher, student and int8 student in the
background; a 10 ms timer in the GUI thread records the longest gap between its ticks (a stall the user
would see as a frozen window). Goal (issue 10, item 8): no stall over 100 ms, memory bounded.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/tryit_file.py RUN_DIR [--lines 10000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from workbench.gui.panels.tryit import TryItPanel, load_predictors

TEXTS = ("I love this new phone, the battery lasts forever!", "the flight was delayed again, awful service",
         "meeting moved to 3pm tomorrow")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    app = QApplication([])
    load_predictors(args.run_dir)  # models loaded before timing: the file run is what is measured
    loaded_rss = peak_rss_mib()
    panel = TryItPanel()
    panel.set_runs([args.run_dir])
    panel.show()
    lines = Path(tempfile.mkdtemp()) / "lines.txt"
    lines.write_text("".join(f"{TEXTS[i % 3]} #{i}\n" for i in range(args.lines)), encoding="utf-8")
    # As in the window, where they happen at launch: the panel's charts build (importing pyqtgraph) after
    # their first paint, and superqt is imported by the first background job.
    import superqt.utils  # noqa: F401

    settle = time.perf_counter() + 2
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.01)
    ticks: list[float] = []
    probe = QTimer(interval=10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    started = time.perf_counter()
    QTimer.singleShot(20, lambda: panel.load_file(str(lines)))  # inside the loop: its own time counts too
    while not panel.file_run.busy:
        app.processEvents()
    while panel.file_run.busy:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    probe.stop()
    gaps = sorted(((b - a, a - started) for a, b in zip(ticks, ticks[1:], strict=False)), reverse=True)
    stall = gaps[0][0] if gaps else 0.0
    print(f"{panel.file_run.done:,} lines in {elapsed:.1f} s ({panel.file_run.done / elapsed:,.0f} lines/s); "
          f"{panel.file_run.results.rowCount():,} rows kept")
    print(f"longest event-loop stall {1000 * stall:.0f} ms (goal <= 100 ms); peak RSS {peak_rss_mib():.0f} MiB "
          f"({loaded_rss:.0f} MiB with the models loaded, before the file)")
    print("longest stalls (ms at s): " + ", ".join(f"{1000 * g:.0f} at {t:.1f}" for g, t in gaps[:5]))
    print(panel.file_run.status.text())


if __name__ == "__main__":
    main()
