"""A job reusing a cached teacher copies the reference teacher's ONNX artifacts, their parity and test scores
that the first job kept, instead of exporting, checking and scoring the same teacher again."""

import json

import pytest

from tests.tiny_job import run_to_end
from workbench.core.compress import export
from workbench.core.run_folder import RunFolder
from workbench.core.stages.teacher_reuse import cache_root


@pytest.fixture
def exported_models(monkeypatch):
    """The names of the models each export made itself."""
    made: list[str] = []
    real = export._export_model

    def recording(run_dir, name, *args, **kwargs):
        made.append(name)
        return real(run_dir, name, *args, **kwargs)

    monkeypatch.setattr(export, "_export_model", recording)
    return made


def _teacher_figures(run_dir: str) -> tuple[dict, dict]:
    run = RunFolder.open(run_dir)
    parity = {r["artifact"]: (r["agreement"], r["max_logit_delta"], r["ok"])
              for r in json.loads(run.parity_path.read_text())["results"] if r["artifact"].startswith("teacher")}
    bench = json.loads(run.bench_path.read_text())["models"]
    return parity, {name: model["test"] for name, model in bench.items() if name.startswith("teacher-onnx")}


def test_a_reused_teacher_brings_its_onnx_artifacts_parity_and_scores(recipe, exported_models):
    recipe.quantization.enabled = True
    first = run_to_end(recipe)[-1]
    assert exported_models == ["student", "teacher"]
    exported_models.clear()
    second = run_to_end(recipe)[-1]
    assert exported_models == ["student"]  # the teacher's artifacts came from the cache
    assert second.summary == first.summary
    assert _teacher_figures(second.run_dir) == _teacher_figures(first.run_dir)
    parity, scores = _teacher_figures(second.run_dir)
    assert set(parity) == {"teacher-fp32.onnx", "teacher-fused.onnx", "teacher-int8.onnx"} and scores
    run = RunFolder.open(second.run_dir)
    assert all(run.onnx_path(name).stat().st_size > 0 for name in parity)
    assert not (run.teacher_dir / "onnx").exists()  # the cache's, not the run's teacher folder


def test_other_export_settings_or_a_damaged_record_export_the_teacher_again(recipe, exported_models):
    recipe.quantization.enabled = True
    run_to_end(recipe)
    recipe.quantization.per_channel = not recipe.quantization.per_channel
    exported_models.clear()
    run_to_end(recipe)
    assert exported_models == ["student", "teacher"]
    for record in cache_root(recipe).glob("*/onnx/*/record.json"):
        record.write_text('{"settings": "garbage", "artifacts": ["../../escape"]}')
    exported_models.clear()
    last = run_to_end(recipe)[-1]
    assert exported_models == ["student", "teacher"] and last.summary["parity_ok"] is not None
