"""Label texts with the model in this folder. Needs only onnxruntime, tokenizers and numpy:

    pip install -r requirements.txt
    python predict.py "what a great flight" "the food was cold"
    python predict.py --file texts.txt           # one text a line
    echo "see you tomorrow" | python predict.py
    python predict.py --json "some text"         # one JSON object a line, with every probability and logit

Or from Python: `Classifier().predict(["some text"])` gives (label, probabilities) pairs.

tokenizer.json carries the truncation and padding the model was trained and checked with, so texts are cut
and padded exactly as in the workbench that made this folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
BATCH_SIZE = 32
# ONNX Runtime would fuse Add + LayerNormalization into SkipLayerNormalization at load time; on x86 CPUs that
# kernel measured 2 to 4 times slower, and the workbench checked the model's outputs without it.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


class Classifier:
    """The bundled model with its tokenizer and labels; `model` may also be the ORT-format file."""

    def __init__(self, folder: Path = HERE, model: str = "model.onnx", threads: int = 0) -> None:
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's choice
        self.session = onnxruntime.InferenceSession(str(folder / model), options, providers=["CPUExecutionProvider"],
                                                    disabled_optimizers=DISABLED_OPTIMIZERS)
        # Feed exactly the inputs the graph declares: some models take no token_type_ids.
        self.inputs = [graph_input.name for graph_input in self.session.get_inputs()]
        unknown = set(self.inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            raise SystemExit(f"{model}: takes inputs this script cannot make: {', '.join(sorted(unknown))}")

    def logits(self, texts: list[str]) -> np.ndarray:
        """(len(texts), labels) logits, computed BATCH_SIZE texts at a time."""
        rows = []
        for start in range(0, len(texts), BATCH_SIZE):
            encodings = self.tokenizer.encode_batch(texts[start:start + BATCH_SIZE])
            arrays = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                      "token_type_ids": [e.type_ids for e in encodings]}
            feeds = {name: np.asarray(arrays[name], dtype=np.int64) for name in self.inputs}
            rows.append(self.session.run(None, feeds)[0])
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)), dtype=np.float32)

    def predict(self, texts: list[str]) -> list[tuple[str, list[float]]]:
        return [(self.labels[int(row.argmax())], row.tolist()) for row in softmax(self.logits(texts))]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def read_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        return list(args.texts)
    if args.file:
        lines = Path(args.file).read_text(encoding="utf-8").splitlines()
    elif not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
    else:
        raise SystemExit("give texts as arguments, --file FILE (one text a line) or on standard input")
    return [line for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Label texts with the bundled model.")
    parser.add_argument("texts", nargs="*", help="texts to label (else --file, else standard input)")
    parser.add_argument("--file", help="a text file, one text a line")
    parser.add_argument("--json", action="store_true", help="one JSON object a line: text, label, probabilities, "
                                                            "logits")
    parser.add_argument("--model", default="model.onnx", help="model file in this folder (model.ort also works)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (default: its choice)")
    args = parser.parse_args(argv)
    texts = read_texts(args)
    classifier = Classifier(HERE, args.model, args.threads)
    logits = classifier.logits(texts)
    for text, row, probabilities in zip(texts, logits, softmax(logits), strict=True):
        label = classifier.labels[int(probabilities.argmax())]
        if args.json:
            print(json.dumps({"text": text, "label": label, "probabilities": dict(zip(classifier.labels,
                              probabilities.tolist(), strict=True)), "logits": row.tolist()}))
        else:
            scores = "  ".join(f"{name} {p:.3f}" for name, p in zip(classifier.labels, probabilities, strict=True))
            print(f"{label}\t{probabilities.max():.3f}\t{scores}\t{text}")


if __name__ == "__main__":
    main()
