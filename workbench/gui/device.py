"""The device a job would run on, for the status bar; imports torch, so it runs in the background."""

from __future__ import annotations


def describe_device(setting: str) -> str:
    import torch

    if setting in ("auto", "cuda") and torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if setting in ("auto", "mps") and torch.backends.mps.is_available():
        return "MPS (Apple GPU)"
    cpu = f"CPU, {torch.get_num_threads()} threads"
    return cpu if setting in ("auto", "cpu") else f"{cpu} ({setting} requested but not available)"
