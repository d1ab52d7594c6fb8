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
from typing import NoReturn

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
BATCH_SIZE = 32
# ONNX Runtime would fuse Add + LayerNormalization into SkipLayerNormalization at load time; on x86 CPUs that
# kernel measured 2 to 4 times slower, and the workbench checked the model's outputs without it.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
MAX_LABELS_BYTES = 10_000_000


class Classifier:
    """The bundled model with its tokenizer and labels; `model` may also be the ORT-format file."""

    def __init__(self, folder: Path = HERE, model: str = "model.onnx", threads: int = 0) -> None:
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as error:  # tokenizers raises a bare Exception for missing and damaged files
            fail(f"{folder / 'tokenizer.json'}: is not a readable tokenizer ({first_line(error)}); deploy again")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(threads, 0)  # 0: ONNX Runtime's choice
        try:
            self.session = onnxruntime.InferenceSession(str(folder / model), options,
                                                        providers=["CPUExecutionProvider"],
                                                        disabled_optimizers=DISABLED_OPTIMIZERS)
        except Exception as error:  # onnxruntime raises its own types for missing and damaged models
            fail(f"{folder / model}: is not a readable ONNX model ({first_line(error)}); check --model")
        # Feed exactly the inputs the graph declares: some models take no token_type_ids.
        self.inputs = [graph_input.name for graph_input in self.session.get_inputs()]
        unknown = set(self.inputs) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            fail(f"{model}: takes inputs this script cannot make: {', '.join(sorted(unknown))}")
        self.labels = read_labels(folder / "labels.json", self.session.get_outputs()[0].shape[-1])

    def logits(self, texts: list[str]) -> np.ndarray:
        """(len(texts), labels) logits, computed BATCH_SIZE texts at a time."""
        rows = []
        for start in range(0, len(texts), BATCH_SIZE):
            encodings = self.tokenizer.encode_batch(texts[start:start + BATCH_SIZE])
            arrays = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                      "token_type_ids": [e.type_ids for e in encodings]}
            feeds = {name: np.asarray(arrays[name], dtype=np.int64) for name in self.inputs}
            rows.append(self.session.run(None, feeds)[0])
        if rows and rows[0].shape[-1] != len(self.labels):  # a graph that does not state its output size
            fail(f"labels.json names {len(self.labels)} labels but the model has {rows[0].shape[-1]} outputs; "
                 "deploy again")
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)), dtype=np.float32)

    def predict(self, texts: list[str]) -> list[tuple[str, list[float]]]:
        return [(self.labels[int(row.argmax())], row.tolist()) for row in softmax(self.logits(texts))]


class BundleError(Exception):
    """Bad input or a damaged bundle file: the command line prints it as one line, never a traceback."""


def fail(message: str) -> NoReturn:
    raise BundleError(message)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:160]


def read_labels(path: Path, outputs: object) -> list[str]:
    """labels.json: one name per logit of the model (`outputs`, when the graph states it), in logit order."""
    try:
        if path.stat().st_size > MAX_LABELS_BYTES:
            fail(f"{path}: is too large for a list of labels; deploy again")
        labels = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        fail(f"{path}: is not a readable JSON list of labels ({first_line(error)}); deploy again")
    if not isinstance(labels, list) or not labels or not all(isinstance(name, str) for name in labels):
        fail(f"{path}: must be a JSON list of label names, one per model output; deploy again")
    if isinstance(outputs, int) and len(labels) != outputs:
        fail(f"{path}: names {len(labels)} labels but the model has {outputs} outputs; deploy again")
    return labels


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def read_texts(args: argparse.Namespace) -> list[str]:
    """The texts to label: empty ones given as arguments are refused, empty lines of a file or input skipped."""
    if args.texts:
        empty = [str(number) for number, text in enumerate(args.texts, 1) if not text.strip()]
        if empty:
            fail(f"text {', '.join(empty)} is empty, so there is nothing to label; give texts with words in them")
        return [_utf8_argument(number, text) for number, text in enumerate(args.texts, 1)]
    try:
        if args.file:
            lines = Path(args.file).read_text(encoding="utf-8").splitlines()
        elif not sys.stdin.isatty():
            lines = sys.stdin.buffer.read().decode("utf-8").splitlines()
        else:
            fail("give texts as arguments, --file FILE (one text a line) or on standard input")
    except UnicodeDecodeError as error:
        fail(f"{args.file or 'standard input'}: is not UTF-8 text (byte {error.start}); save it as UTF-8")
    except IsADirectoryError:
        fail(f"{args.file}: is a folder; give a text file, one text a line")
    except FileNotFoundError:
        fail(f"{args.file}: no such file; give a text file, one text a line")
    except OSError as error:
        fail(f"{args.file}: cannot be read ({error.strerror})")
    texts = [line for line in lines if line.strip()]
    if not texts and lines:  # an empty input is an empty batch (no line out); blank lines alone, a wrong file
        fail(f"{args.file or 'standard input'}: holds no text (only empty lines); give one text a line")
    return texts


def _utf8_argument(number: int, text: str) -> str:
    """An argument the terminal passed in another encoding reaches Python with surrogates in it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        fail(f"text {number} is not UTF-8 (the terminal's encoding differs); pass UTF-8 texts or use --file")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Label texts with the bundled model.")
    parser.add_argument("texts", nargs="*", help="texts to label (else --file, else standard input)")
    parser.add_argument("--file", help="a text file, one text a line")
    parser.add_argument("--json", action="store_true", help="one JSON object a line: text, label, probabilities, "
                                                            "logits")
    parser.add_argument("--model", default="model.onnx", help="model file in this folder (model.ort also works)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (default: its choice)")
    args = parser.parse_args(argv)
    try:
        print_labels(read_texts(args), Classifier(HERE, args.model, args.threads), args.json)
    except BundleError as error:
        raise SystemExit(f"error: {error}") from None


def print_labels(texts: list[str], classifier: Classifier, as_json: bool) -> None:
    logits = classifier.logits(texts)
    for text, row, probabilities in zip(texts, logits, softmax(logits), strict=True):
        label = classifier.labels[int(probabilities.argmax())]
        if as_json:
            print(json.dumps({"text": text, "label": label, "probabilities": dict(zip(classifier.labels,
                              probabilities.tolist(), strict=True)), "logits": row.tolist()}))
        else:
            scores = "  ".join(f"{name} {p:.3f}" for name, p in zip(classifier.labels, probabilities, strict=True))
            print(f"{label}\t{probabilities.max():.3f}\t{scores}\t{text}")


if __name__ == "__main__":
    main()
