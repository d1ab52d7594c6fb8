"""The main window: a navigation list of panels in job order around one RecipeEditor, the File / Run / View
menus, and a status bar with the device and the current run. Panels talk to each other only through the
editor (the recipe) and the signals wired here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from workbench.core.api import RecipeError, WorkbenchError, presets_dir
from workbench.core.recipe import Recipe
from workbench.core.run_folder import RunFolder
from workbench.gui.background import Latest, preload_job_libraries
from workbench.gui.checked_start import CheckedStart
from workbench.gui.closing import BackgroundWork, UnsavedChanges, stop_then
from workbench.gui.device import describe_device
from workbench.gui.fields import on_screen
from workbench.gui.menus import add_action, build_menus
from workbench.gui.panels.compression import CompressionPanel
from workbench.gui.panels.data_section import DataPanel
from workbench.gui.panels.mapping import MappingPanel
from workbench.gui.panels.models import ModelsPanel
from workbench.gui.panels.presentation import PresentationWindow
from workbench.gui.panels.runs import RunsPanel
from workbench.gui.panels.search import SearchPanel
from workbench.gui.panels.training import TrainingPanel
from workbench.gui.panels.tryit import TryItPanel
from workbench.gui.recipe_editor import RecipeEditor
from workbench.gui.sidebar import StepList
from workbench.gui.steps import STEPS, route_problems, step_states

RECENT_KEY, GEOMETRY_KEY, MAX_RECENT = "recent_recipes", "window/geometry", 8
PANELS = STEPS


def recent_recipes_in(settings: QSettings) -> list[str]:
    """Recipe files opened or saved, newest first (QSettings gives one string back for a one-item list)."""
    value = settings.value(RECENT_KEY, [])
    return [value] if isinstance(value, str) else list(value or [])


class MainWindow(QMainWindow):
    def __init__(self, recipe: Recipe, recipe_path: Path | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.recipe_path = recipe_path
        self.editor = RecipeEditor(recipe)
        self._saved_recipe = recipe
        self._went_live = False
        self._close_when_cancelled = False
        self.unsaved = UnsavedChanges(self, lambda: self.modified, self.save_recipe, lambda: self.recipe.name)
        self._device = Latest(self)
        self._presentation: PresentationWindow | None = None
        self.preload: Latest | None = None  # the job's libraries, imported once the window is on screen

        self.data = DataPanel(self.editor)
        self.models = ModelsPanel(self.editor)
        self.mapping = MappingPanel(self.editor)
        self.compression = CompressionPanel(self.editor)
        self.training = TrainingPanel(self.editor)
        self.tryit = TryItPanel(self.open_presentation)
        self.runs = RunsPanel(recipe.output_dir)
        self.search = SearchPanel(self.editor)
        self.panels: dict[str, QWidget] = dict(zip(PANELS, (self.data, self.models, self.mapping, self.compression,
                                                            self.training, self.tryit, self.runs, self.search),
                                                   strict=True))
        self.nav = StepList(PANELS)
        self.stack = QStackedWidget()
        for panel in self.panels.values():
            self.stack.addWidget(panel)
        self._steps_timer = QTimer(self, singleShot=True, interval=0)
        self._steps_timer.timeout.connect(self._refresh_steps)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_menus()
        self._wire()
        self.nav.setCurrentRow(0)
        self._refresh_steps()
        if not self.restoreGeometry(QByteArray(self.settings.value(GEOMETRY_KEY, QByteArray()))):
            self.resize(1280, 800)
        self._show_recipe()

    def _build_status_bar(self) -> None:
        self.problems_label = QLabel()
        self.run_label = QLabel("no run")
        self.device_label = QLabel("device: …")
        for label in (self.problems_label, self.run_label, self.device_label):
            self.statusBar().addPermanentWidget(label)

    # -- menus -----------------------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        build_menus(self, start=self._start_from_menu)
        self._fill_recent()

    def _start_from_menu(self) -> None:
        self.show_panel("Training")
        self.checked_start.start()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for name in self.recent_recipes():
            add_action(self, self.recent_menu, name, lambda _=False, n=name: self.load_recipe(Path(n)))
        self.recent_menu.setEnabled(bool(self.recent_recipes()))

    def recent_recipes(self) -> list[str]:
        return recent_recipes_in(self.settings)

    def _remember(self, path: Path) -> None:
        name = str(Path(path).resolve())
        recent = [name] + [p for p in self.recent_recipes() if p != name]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])
        self._fill_recent()

    # -- wiring ----------------------------------------------------------------------------------------------

    def _wire(self) -> None:
        self.editor.recipe_changed.connect(lambda recipe: self._show_recipe())
        self.editor.recipe_changed.connect(lambda recipe: self.runs.set_output_dir(recipe.output_dir))
        self.editor.problems_changed.connect(self._show_problems)
        self.models.described.connect(self.mapping.set_models)
        self.checked_start = CheckedStart(self.training, self.editor, self)
        self.training.run_changed.connect(self._show_run)
        self.training.running_changed.connect(self._running_changed)
        self.training.job_finished.connect(self._job_finished)
        self.runs.runs_listed.connect(lambda rows: self.tryit.set_runs([r.path for r in rows if r.has_student]))
        self.runs.show_requested.connect(self._show_run_in_training)
        self.runs.resume_requested.connect(self._resume)
        self.runs.recipe_requested.connect(lambda run: self.load_recipe(RunFolder(Path(run)).recipe_path))
        self.runs.try_requested.connect(self._try_run)
        self.search.student_chosen.connect(lambda trial: self.show_panel("Models"))
        for signal in (self.editor.recipe_changed, self.editor.problems_changed, self.models.described,
                       self.data.section.previewed, self.runs.runs_listed, self.tryit.run_combo.currentIndexChanged):
            signal.connect(lambda *_: self._steps_timer.start())  # many changes at once: one refresh

    def _refresh_steps(self) -> None:
        """Each step's mark and one-line summary, from the core's messages (see workbench/gui/steps.py)."""
        preview = self.data.section.preview
        routed = route_problems(self.editor.problems, self.editor.fields, self.panels)
        states = step_states(self.recipe, routed, self.models.info, self.data.section.failure,
                             sum(preview.class_counts.values()) if preview else None,
                             self.tryit.run_combo.currentText() or None, len(self.runs.rows))
        for name, state in states.items():
            self.nav.show_state(name, state)

    def show_panel(self, name: str) -> None:
        self.nav.setCurrentRow(PANELS.index(name))

    def _show_problems(self, problems: dict[str, str]) -> None:
        if problems:
            self.problems_label.setText(f"<span style='color:#c62828'>⚠ recipe has {len(problems)} problem(s)</span>")
            self.problems_label.setToolTip("\n".join(on_screen(f"{p or 'recipe'}: {m}") for p, m in problems.items()))
        else:
            self.problems_label.setText("")
        self._show_recipe()

    def _show_run(self, run_dir: str) -> None:
        self.run_label.setText(f"run: {run_dir}")
        self.run_label.setToolTip(run_dir)
        if self.training.running:
            self.runs.active_run = run_dir
            self.runs.request_refresh()

    def _running_changed(self, running: bool) -> None:
        self.tryit.training_active = running
        if not running:
            self.runs.active_run = None
        elif not self.training.run_dir:
            self.run_label.setText(f"run: {self.editor.recipe.name} (starting)")

    def _job_finished(self, last) -> None:
        self.runs.refresh()
        run_dir = getattr(last, "run_dir", "")
        if run_dir:
            self.runs.select_run(run_dir)
            if RunFolder(Path(run_dir)).student_dir.is_dir():
                self.tryit.set_runs([r.path for r in self.runs.rows if r.has_student], select=run_dir)

    def _show_run_in_training(self, run_dir: str) -> None:
        if self.training.running:
            QMessageBox.information(self, "A run is in progress", "The Training panel shows the running job.")
            return
        self.training.show_run(run_dir)
        self.show_panel("Training")

    def _resume(self, run_dir: str) -> None:
        if self.training.running:
            QMessageBox.information(self, "A run is in progress", "Wait for it to finish or cancel it first.")
            return
        self.show_panel("Training")
        self.training.resume_run(run_dir)

    def _try_run(self, run_dir: str) -> None:
        paths = [r.path for r in self.runs.rows if r.has_student]
        self.tryit.set_runs(paths if run_dir in paths else [*paths, run_dir], select=run_dir)
        self.show_panel("Try it")

    def open_presentation(self, run_dir: str | None = None) -> None:
        """Full screen figures of the run tried last, else of the run selected in Runs."""
        run_dir = run_dir or self.tryit.run_combo.currentData() or next(iter(self.runs.selected_paths()), None)
        if self._presentation is None:
            self._presentation = PresentationWindow(self)
        self._presentation.show_run(run_dir)

    # -- going live after the first paint --------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if not self._went_live:
            self._went_live = True
            # Everything that imports torch / transformers starts after the window's first paint: started
            # on show, it ran before the X server's expose event and held the first paint back ~0.4 s.
            QTimer.singleShot(0, self._go_live)

    def _go_live(self) -> None:
        self.runs.refresh()  # reads every run folder's files: a long-used output folder holds many
        self.models.go_live()
        setting = self.editor.recipe.training.device
        self._device.run(lambda: describe_device(setting), lambda text: self.device_label.setText(f"device: {text}"),
                         lambda message: self.device_label.setText(f"device: unknown ({message})"))
        self.preload = preload_job_libraries(self)

    # -- recipe files ----------------------------------------------------------------------------------------

    @property
    def recipe(self) -> Recipe:
        return self.editor.recipe

    def _show_recipe(self) -> None:
        recipe = self.editor.recipe
        where = str(self.recipe_path) if self.recipe_path else "unsaved"
        modified = "*" if self.modified else ""
        self.setWindowTitle(f"TinyBERT Workbench — {recipe.name}{modified} ({where})")
        self.statusBar().showMessage(
            f"teacher {recipe.teacher.source} → student {recipe.student.preset}; data {recipe.data.source}")

    @property
    def modified(self) -> bool:
        """The recipe differs from the one last opened or saved (or has problems): the title's *."""
        return self.editor.recipe != self._saved_recipe or not self.editor.valid

    def load_recipe(self, path: Path) -> None:
        try:
            recipe = Recipe.load(path)
        except RecipeError as error:
            QMessageBox.warning(self, "Recipe not loaded", str(error))
            return
        self.recipe_path = Path(path)
        self._saved_recipe = recipe
        self.editor.load(recipe)
        self._remember(Path(path))
        self._show_recipe()

    def new_recipe(self) -> None:
        self.recipe_path = None
        self._saved_recipe = Recipe()
        self.editor.load(Recipe())
        self._show_recipe()

    def open_recipe(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open recipe", "", "Recipes (*.yaml *.yml)")
        if name:
            self.load_recipe(Path(name))

    def save_recipe(self) -> None:
        if self.recipe_path is None or self.recipe_path.resolve().parent == presets_dir().resolve():
            self.save_recipe_as()  # never overwrite a shipped preset by accident
        else:
            self._save_to(self.recipe_path)

    def save_recipe_as(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save recipe", f"{self.recipe.name}.yaml", "Recipes (*.yaml)")
        if name:
            self._save_to(Path(name))

    def _save_to(self, path: Path) -> None:
        if not self.editor.valid:
            QMessageBox.warning(self, "Recipe has problems", "Fix the fields marked in red first; the last valid "
                                "recipe would be saved otherwise.")
            return
        self.recipe_path = self.recipe.save(path)
        self._saved_recipe = self.recipe
        self._remember(path)
        self._show_recipe()

    def open_run_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Open run folder", self.recipe.output_dir)
        if not folder:
            return
        try:
            RunFolder.open(folder)
        except WorkbenchError as error:
            QMessageBox.warning(self, "Not a run folder", str(error))
            return
        if RunFolder(Path(folder)).student_dir.is_dir():
            self._try_run(folder)
        self._show_run_in_training(folder)

    # -- closing ---------------------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.unsaved.settled():
            event.ignore()
            return
        running = [work for work in self._background_work() if work.running()]
        if running:
            event.ignore()
            if not self._close_when_cancelled:  # else already cancelling: it closes when every worker stopped
                self._close_when_cancelled = stop_then(self, running, self._close_when_stopped)
            return
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        super().closeEvent(event)

    def _background_work(self) -> list[BackgroundWork]:
        work = [BackgroundWork(lambda: self.training.running, "A run is in progress",
                               "Cancel the run and close? The job stops at the next step and writes a checkpoint, "
                               "so the run can be resumed later from the Runs panel.", self.training.job_finished,
                               self.training.cancel)]
        if self.search.worker is not None:
            work.append(BackgroundWork(lambda: self.search.running, "A search is in progress",
                                       "Cancel the search and close? The trial in hand stops at its next step and "
                                       "is trained again when the study is resumed (workbench search --resume).",
                                       self.search.worker.finished, self.search.cancel))
        return work

    def _close_when_stopped(self) -> None:
        if not any(work.running() for work in self._background_work()):
            self.close()
