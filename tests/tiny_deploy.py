"""A finished tiny run with an int8 ONNX student, ready to deploy, and the workbench's own int8 logits on
texts, batched as the bundle's predict.py batches them (dynamic int8 scales depend on the batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.tiny_onnx import write_int8_onnx
from tests.tiny_run import make_tiny_run


def make_deployable_run(folder: Path, csv: Path) -> Path:
    from workbench.core.run_folder import RunFolder

    run = RunFolder(make_tiny_run(folder, csv))
    write_int8_onnx(run.student_dir, run.onnx_path("student-int8.onnx"))
    run.set_status("finished")
    return run.path


def workbench_int8_logits(run_dir: Path, texts: list[str], batch_size: int | None = None) -> np.ndarray:
    """`batch_size`: predict.py's unless given (the web demo runs one text at a time)."""
    from workbench.core.deploy.predict import BATCH_SIZE
    from workbench.core.run_folder import RunFolder
    from workbench.core.sources.model_runner import model_feeds, ort_session
    from workbench.core.sources.split_inputs import encode_batches, load_tokenizer_from

    run = RunFolder(run_dir)
    session = ort_session(run.onnx_path("student-int8.onnx"), threads=1)
    inputs = [i.name for i in session.get_inputs()]
    batches = encode_batches(texts, load_tokenizer_from(run.student_dir), run.recipe().data.max_length,
                             batch_size or BATCH_SIZE)
    return np.concatenate([session.run(["logits"], model_feeds(inputs, batch))[0] for batch in batches])
