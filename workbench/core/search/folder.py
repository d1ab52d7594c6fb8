"""The study folder: everything a search leaves behind, enough to resume or join it. The one owner of its
layout.

    STUDY/study.yaml        the recipe the search started from (not recipe.yaml: a study is not a run)
    STUDY/study.json        the Optuna study name and storage URL
    STUDY/journal.log       the default storage: Optuna's journal file (several processes may share it)
    STUDY/references.json   teacher PyTorch, ONNX fp32 and fused int8, as the last worker measured them
    STUDY/teacher-accuracy.json  the fine-tuned teacher's test accuracy, PyTorch and fused int8 (once per study)
    STUDY/candidates/       scratch: each measured candidate's untrained int8 model, each worker's teacher exports
    STUDY/trials/           the run folder of every trained candidate (trial-N-...)
    STUDY/report/           the HTML report of the study
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe
from workbench.core.run_folder import read_json, stamped_folder, write_json

JOURNAL_PREFIX = "journal:"


class StudyError(WorkbenchError):
    """A study folder or storage that cannot be opened, or a search request that cannot be carried out."""


class StudyFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    recipe_path = property(lambda self: self.path / "study.yaml")
    info_path = property(lambda self: self.path / "study.json")
    journal_path = property(lambda self: self.path / "journal.log")
    references_path = property(lambda self: self.path / "references.json")
    teacher_accuracy_path = property(lambda self: self.path / "teacher-accuracy.json")
    candidates_dir = property(lambda self: self.path / "candidates")
    trials_dir = property(lambda self: self.path / "trials")
    report_dir = property(lambda self: self.path / "report")

    @classmethod
    def create(cls, recipe: Recipe) -> StudyFolder:
        folder = cls(stamped_folder(Path(recipe.output_dir), f"search-{recipe.name}", "a study folder"))
        recipe.save(folder.recipe_path)
        storage = recipe.search.storage or f"{JOURNAL_PREFIX}{folder.journal_path.resolve()}"
        write_json(folder.info_path, {"study_name": folder.path.name, "storage": storage})
        return folder

    @classmethod
    def open(cls, path: str | Path) -> StudyFolder:
        folder = cls(path)
        if not folder.is_study():
            raise StudyError(f"{path}: not a study folder (no study.yaml and study.json); give the folder "
                             "`workbench search` printed")
        return folder

    def is_study(self) -> bool:
        return self.recipe_path.is_file() and self.info_path.is_file()

    def recipe(self) -> Recipe:
        return Recipe.load(self.recipe_path)

    @property
    def info(self) -> dict[str, Any]:
        return read_json(self.info_path)

    def references(self) -> dict[str, Any]:
        return read_json(self.references_path)
