"""Try-it on a file of texts: thousands of lines through a run's models in the background, a batch at a time
(the core's `predict_batches` in superqt's GeneratorWorker), with a progress bar, Cancel, and rows that
appear as they come.

Memory stays bounded: a line keeps only its (shortened) text and one small label index per model, never
probabilities, and at most MAX_ROWS lines are kept for the table (the counts cover every line). The table
is a model-backed view, so adding a batch costs one row insertion, not thousands of widgets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.background import describe_error

BATCH = 64
MAX_ROWS = 20_000
MAX_TEXT = 300  # characters of a line kept for the table
AGREE, DISAGREE = QColor("#e8f5e9"), QColor("#ffebee")


@dataclass
class FileStarted:
    models: list[str]
    labels: dict[str, list[str]]
    total: int


@dataclass
class FileBatch:
    texts: list[str]
    predicted: dict[str, list[int]]  # model -> label index per text


def text_file_encoding(path: str | Path) -> str:
    """The encoding of a text file to classify, as the core reads data files; one line when it is no text file."""
    from workbench.core.api import DataSourceError, detect_encoding

    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise DataSourceError(f"{path}: {what}; give a text file, one text a line")
    try:
        return detect_encoding(path)  # refuses binary data
    except OSError as error:
        raise DataSourceError(f"{path}: cannot be read ({error.strerror})") from None


def read_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[str]:
    with open(path, encoding=encoding, errors="replace") as file:
        for line in file:
            if line.strip():
                yield line.strip()


def classify_file(load: Callable[[], dict], path: str, threads: int | None) -> Iterator[FileStarted | FileBatch]:
    """Background: load the run's models, then every line of the file through them, one batch per yield."""
    from workbench.core.api import predict_batches

    encoding = text_file_encoding(path)
    predictors = load()
    present = {name: p for name, p in predictors.items() if not isinstance(p, str)}
    yield FileStarted(list(present), {name: p.labels for name, p in present.items()},
                      sum(1 for _ in read_lines(path, encoding)))
    for texts, probabilities in predict_batches(present, read_lines(path, encoding), BATCH, threads):
        yield FileBatch([t[:MAX_TEXT] for t in texts],
                        {name: p.argmax(axis=-1).tolist() for name, p in probabilities.items()})


class FileResults(QAbstractTableModel):
    """The classified lines: text, then each model's label, green where all agree and red where not."""

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = []
        self.labels: dict[str, list[str]] = {}
        self.rows: list[tuple[str, tuple[int, ...]]] = []

    def reset(self, models: list[str], labels: dict[str, list[str]]) -> None:
        self.beginResetModel()
        self.models, self.labels, self.rows = models, labels, []
        self.endResetModel()

    def append(self, batch: FileBatch) -> None:
        room = MAX_ROWS - len(self.rows)
        if room <= 0:
            return
        new = [(text, tuple(batch.predicted[m][i] for m in self.models)) for i, text in enumerate(batch.texts)]
        new = new[:room]
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(new) - 1)
        self.rows.extend(new)
        self.endInsertRows()

    def disagrees(self, row: int) -> bool:
        return len(set(self.rows[row][1])) > 1

    def write_csv(self, path: str | Path) -> Path:
        """The kept lines as CSV: text, then each model's label (the models' class names)."""
        import csv

        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["text", *self.models])
            for text, predicted in self.rows:
                writer.writerow([text, *(self.labels[m][i] for m, i in zip(self.models, predicted, strict=True))])
        return Path(path)

    def label(self, row: int, model: str) -> str:
        return self.labels[model][self.rows[row][1][self.models.index(model)]]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else 1 + len(self.models)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return "text" if section == 0 else self.models[section - 1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        text, predicted = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text if index.column() == 0 else self.labels[self.models[index.column() - 1]][
                predicted[index.column() - 1]]
        if role == Qt.ItemDataRole.BackgroundRole and index.column() > 0:
            return AGREE if len(set(predicted)) <= 1 else DISAGREE
        return None


class Disagreements(QSortFilterProxyModel):
    """The results, or only the lines where the models disagree."""

    def __init__(self, results: FileResults) -> None:
        super().__init__()
        self.setSourceModel(results)
        self.only = False

    def show_only(self, only: bool) -> None:
        self.only = only
        self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        return not self.only or self.sourceModel().disagrees(row)


class FileRun(QWidget):
    """Progress, Cancel and the results table of one file's classification."""

    def __init__(self) -> None:
        super().__init__()
        self.results = FileResults()
        self.done = self.total = self.disagreements = 0
        self.agreeing: dict[str, int] = {}  # model -> lines on which it says what the first model (teacher) says
        self.worker = None
        self._started = 0.0
        self.status = QLabel(wordWrap=True)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.filtered = Disagreements(self.results)
        self.only_disagreements = QCheckBox("show disagreements only")
        self.only_disagreements.toggled.connect(self.filtered.show_only)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save every kept line with each model's label")
        self.export_button.clicked.connect(self.export_dialog)
        self.view = QTableView()
        self.view.setModel(self.filtered)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setDefaultSectionSize(130)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.only_disagreements)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self.hide()

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(self, load: Callable[[], dict], path: str, threads: int | None) -> None:
        from superqt.utils import create_worker

        self.cancel()
        self.show()
        self.done = self.total = self.disagreements = 0
        self.agreeing = {}
        self.results.reset([], {})
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Loading the run's models for {Path(path).name}…")
        self._started = time.perf_counter()
        worker = create_worker(classify_file, load, path, threads, _start_thread=False, _ignore_errors=True)
        outcome: dict[str, str] = {}
        worker.yielded.connect(lambda item: worker is self.worker and self._on_yielded(item))
        worker.errored.connect(lambda error: outcome.setdefault("end", f"⚠ {describe_error(error)}"))
        worker.aborted.connect(lambda: outcome.setdefault("end", "Cancelled after "))
        worker.finished.connect(lambda: worker is self.worker and self._stopped(outcome.get("end", "Done: ")))
        self.worker = worker
        worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.quit()  # the generator stops at its next batch
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling at the end of this batch…")

    def _on_yielded(self, item: FileStarted | FileBatch) -> None:
        if isinstance(item, FileStarted):
            self.total = item.total
            self.results.reset(item.models, item.labels)
            self.progress.setRange(0, max(1, item.total))
            self.progress.setValue(0)
            self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            return
        self.done += len(item.texts)
        self.disagreements += sum(len({p[i] for p in item.predicted.values()}) > 1 for i in range(len(item.texts)))
        reference = item.predicted[self.results.models[0]] if self.results.models else []
        for model in self.results.models[1:]:
            self.agreeing[model] = self.agreeing.get(model, 0) + sum(
                a == b for a, b in zip(item.predicted[model], reference, strict=True))
        self.results.append(item)
        self.progress.setValue(self.done)
        if self.cancel_button.isEnabled():
            self.status.setText(self._summary("Classifying: "))

    def _summary(self, prefix: str) -> str:
        rate = self.done / max(time.perf_counter() - self._started, 1e-9)
        kept = f" (the first {MAX_ROWS:,} shown)" if self.done > MAX_ROWS else ""
        agreement = ", ".join(f"{model} {count / max(self.done, 1):.1%}" for model, count in self.agreeing.items())
        with_first = f" Agreement with the {self.results.models[0]}: {agreement}." if agreement else ""
        return (f"{prefix}{self.done:,} of {self.total:,} lines{kept}; the models disagree on "
                f"{self.disagreements:,}; {rate:,.0f} lines/s.{with_first}")

    def export_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export results", "tryit-results.csv", "CSV (*.csv)")
        if name:
            self.results.write_csv(name)

    def _stopped(self, outcome: str) -> None:
        """`outcome`: "Done: " or "Cancelled after " (the summary follows), or an error message."""
        self.worker = None
        self.cancel_button.setEnabled(False)
        self.status.setText(self._summary(outcome) if outcome.endswith(" ") else outcome)
