"""Predicted classes of a PyTorch model over a loader of tokenized batches."""

from __future__ import annotations

import numpy as np
import torch

from workbench.core.sources.batches import model_inputs
from workbench.core.sources.model_runner import model_feeds, torch_input_names


def predict(model: torch.nn.Module, loader, device: torch.device | str) -> np.ndarray:
    """The predicted class of every example, in the dataset's order whatever order the loader reads it in."""
    model.eval()
    predictions = []
    with torch.inference_mode():
        for batch in loader:
            # The model's declared inputs only (the core's one runner decides that for every model).
            inputs = model_feeds(torch_input_names(model), {k: v.to(device) for k, v in model_inputs(batch).items()})
            predictions.append(model(**inputs).logits.argmax(-1).cpu())
    read = torch.cat(predictions).numpy()
    in_order = np.empty_like(read)
    in_order[np.fromiter(iter(loader.sampler), dtype=np.int64, count=len(read))] = read
    return in_order
