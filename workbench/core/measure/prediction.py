"""Predicted classes of a PyTorch model over a loader of tokenized batches."""

from __future__ import annotations

import numpy as np
import torch

from workbench.core.sources.batches import model_inputs
from workbench.core.sources.model_runner import model_feeds, torch_input_names


def predict(model: torch.nn.Module, loader, device: torch.device | str) -> np.ndarray:
    model.eval()
    predictions = []
    with torch.inference_mode():
        for batch in loader:
            # The model's declared inputs only (the core's one runner decides that for every model).
            inputs = model_feeds(torch_input_names(model), {k: v.to(device) for k, v in model_inputs(batch).items()})
            predictions.append(model(**inputs).logits.argmax(-1).cpu())
    return torch.cat(predictions).numpy()
