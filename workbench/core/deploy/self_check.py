"""The bundle measured the way its receiver runs it: predict.py's own `Classifier` on the run's test split
(accuracy) and on single texts (batch-1 latency), before the bundle is handed over."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.core.sources.split_inputs import Split

LATENCY_TEXTS = 50  # single-text calls timed; the median is reported
SAMPLE_TEXTS = 3  # test texts the model card shows with their labels


@dataclass
class Sample:
    text: str
    label: str  # the test split's label
    predicted: str
    probability: float


@dataclass
class BundleCheck:
    examples: int
    accuracy: float
    batch1_median_ms: float
    timed_texts: int
    threads: int
    machine: str
    samples: list[Sample]


def measure_bundle(folder: Path, test: Split, threads: int = 1) -> BundleCheck:
    from workbench.core.deploy.errors import DeployError
    from workbench.core.deploy.predict import BundleError, Classifier

    try:
        classifier = Classifier(folder, "model.onnx", threads)
    except BundleError as error:
        raise DeployError(f"the bundle does not load in its own predict.py: {error}") from None
    predictions = classifier.predict(test.texts)
    truth = [test.label_names[i] for i in test.labels]
    correct = sum(label == expected for (label, _), expected in zip(predictions, truth, strict=True))
    shown = zip(test.texts[:SAMPLE_TEXTS], truth[:SAMPLE_TEXTS], predictions[:SAMPLE_TEXTS], strict=True)
    samples = [Sample(text, expected, label, max(probabilities)) for text, expected, (label, probabilities) in shown]
    timed = test.texts[:LATENCY_TEXTS]
    return BundleCheck(len(test.texts), correct / len(test.texts) if test.texts else 0.0,
                       _median_single_text_ms(classifier, timed), len(timed), threads,
                       f"{platform.machine()} with {os.cpu_count()} CPUs", samples)


def _median_single_text_ms(classifier, texts: list[str]) -> float:
    if not texts:
        return float("nan")
    classifier.logits(texts[:1])  # the first run allocates; not what a running app sees
    times = []
    for text in texts:
        started = time.perf_counter()
        classifier.logits([text])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
