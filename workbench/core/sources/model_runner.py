"""The one way the workbench runs a model on tokenized text: a PyTorch folder or an ONNX graph, fed exactly
the inputs it declares, giving logits as numpy, with its size on disk.

The job, parity, the benchmark and the try-it panel all run models through here, so that they cannot
disagree on what a model is fed: a graph that declares `token_type_ids` gets zeros when the tokenizer gives
none (RoBERTa-style tokenizers with a BERT-style export), a model that declares none never gets them
(DistilBERT, ModernBERT), and anything else a model needs but the batch lacks is one clear error.

It sits with the sources, below compress and measure, because parity (compress) and the benchmark and
predictors (measure) both use it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.errors import WorkbenchError
from workbench.core.sources.models import folder_size_bytes

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
SESSION_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]  # a slow kernel: see compress/export.py
# Workers spin while a run lasts (waking sleeping threads for every operator cost the int8 student a quarter of
# its batch-1 latency) and stop at its end: workers left spinning after a run slowed a PyTorch model timed
# next in the same process 2.4-fold, and the window keeps several sessions open beside a training job.
SESSION_CONFIG = {"session.intra_op.allow_spinning": "1", "session.force_spinning_stop": "1",
                  "session.inter_op.allow_spinning": "0"}


class ModelRunError(WorkbenchError):
    """A model that cannot be loaded or fed."""


def model_feeds(input_names: list[str], batch: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the declared inputs, from the batch; token types default to zeros, other gaps are errors."""
    feeds = {}
    for name in input_names:
        if name in batch:
            feeds[name] = batch[name]
        elif name == "token_type_ids":
            ids = batch["input_ids"]
            feeds[name] = ids * 0  # numpy or torch alike, same shape, dtype and device
        else:
            raise ModelRunError(f"the model needs input '{name}' but the tokenizer gives only {', '.join(batch)}; "
                                "use the model's own tokenizer")
    return feeds


def torch_input_names(model) -> list[str]:
    """The tokenizer inputs a PyTorch model's forward names (ModernBERT takes no token types, for one)."""
    accepted = inspect.signature(model.forward).parameters
    return [name for name in INPUT_NAMES if name in accepted]


class TorchRunner:
    """A Hugging Face sequence classifier folder (pruned or not), on the CPU, under inference mode."""

    def __init__(self, folder: str | Path, **from_config: Any) -> None:
        from workbench.core.sources.pruned_models import load_pruned

        self.path = Path(folder)
        self.model = load_pruned(self.path, **from_config).eval()
        self.input_names = torch_input_names(self.model)
        self.size_bytes = folder_size_bytes(self.path)

    def __call__(self, batch: Mapping[str, Any]) -> np.ndarray:
        import torch

        tensors = {k: torch.as_tensor(v) for k, v in model_feeds(self.input_names, batch).items()}
        with torch.inference_mode():
            return self.model(**tensors).logits.float().numpy()


class OnnxRunner:
    """An exported ONNX classifier in ONNX Runtime (see `ort_session` for its settings)."""

    def __init__(self, path: str | Path, threads: int | None, ort_default_optimizers: bool = False) -> None:
        self.path = Path(path)
        self.session = ort_session(self.path, threads, ort_default_optimizers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.size_bytes = onnx_size_bytes(self.path)

    def __call__(self, batch: Mapping[str, Any]) -> np.ndarray:
        feeds = {k: np.asarray(v, dtype=np.int64) for k, v in model_feeds(self.input_names, batch).items()}
        return self.session.run(["logits"], feeds)[0]


def load_model_runner(path: str | Path, threads: int | None = None, ort_default_optimizers: bool = False
                      ) -> TorchRunner | OnnxRunner:
    """An .onnx file runs in ONNX Runtime, a folder in PyTorch."""
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxRunner(path, threads, ort_default_optimizers)
    return TorchRunner(path)


def onnx_size_bytes(path: str | Path) -> int:
    """The graph file plus every external-data file its initializers point to (graphs over 2 GB, or saved
    with external data)."""
    import onnx

    path = Path(path)
    graph = onnx.load(str(path), load_external_data=False)
    locations = {entry.value for tensor in _initializers(graph) for entry in tensor.external_data
                 if entry.key == "location"}
    return path.stat().st_size + sum((path.parent / name).stat().st_size for name in locations
                                     if (path.parent / name).is_file())


def _initializers(model) -> list:
    graphs, found = [model.graph], []
    while graphs:  # subgraphs (If / Loop bodies) hold initializers too
        graph = graphs.pop()
        found.extend(graph.initializer)
        graphs.extend(attr.g for node in graph.node for attr in node.attribute if attr.HasField("g"))
    return found


def ort_session(path: str | Path, threads: int | None, ort_default_optimizers: bool = False):
    """A CPU session with a fixed thread count (None: ONNX Runtime's default) whose workers spin only inside a
    run, and without the SkipLayerNormalization fusion unless `ort_default_optimizers` (for baselines)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=[] if ort_default_optimizers else SESSION_DISABLED_OPTIMIZERS)
    except Exception as error:  # onnxruntime raises its own Fail / InvalidGraph types
        raise ModelRunError(f"{path}: ONNX Runtime cannot load it ({str(error).splitlines()[0][:200]})") from None
