"""Text files in whatever encoding they came in: UTF-8, UTF-16 with a byte-order mark, or a legacy code page
(latin-1 / cp1252 and the like, as spreadsheet programs write them), detected with charset-normalizer.

A file that is not UTF-8 is transcoded once into a UTF-8 copy that the `datasets` readers take as-is.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import DataSourceError

SAMPLE_BYTES = 4 * 2**20  # enough text to tell encodings apart; detection never reads a whole large file
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Where several code pages decode a file alike, the one spreadsheet programs on Western systems write wins:
# charset-normalizer would otherwise as readily pick cp1250, which turns ñ into ń.
_PREFERRED = "cp1252"
REPLACEMENT_CHAR = "\ufffd"
_CONTROLS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f]")  # control characters text files do not hold


@dataclass(frozen=True)
class Decoded:
    path: Path  # a UTF-8 file: the source itself, or a transcoded copy
    encoding: str  # what the source was read as


def detect_encoding(path: Path) -> str:
    """The source file's encoding, or a DataSourceError when it holds binary data rather than text."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    text = sample.decode("utf-8", errors="replace")
    damaged = text.count(REPLACEMENT_CHAR)
    valid_non_ascii = len(text) - len(text.encode("ascii", "ignore")) - damaged
    # UTF-8 with a few damaged bytes stays UTF-8: those bytes are replaced and counted, the rest reads right.
    if b"\x00" not in sample and (not damaged or valid_non_ascii > damaged):
        if _looks_binary(text):
            raise _binary(path)
        return "utf-8"
    return _legacy_encoding(sample, path)


def _binary(path: Path) -> DataSourceError:
    return DataSourceError(f"{path}: holds binary data, not {path.suffix.lstrip('.').upper() or 'plain'} text; "
                           "give a text file (CSV / TSV / JSON / JSONL) or parquet")


def _legacy_encoding(sample: bytes, path: Path) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None or _looks_binary(str(best)):
        raise _binary(path)
    tied = [m for m in matches if abs(m.chaos - best.chaos) < 0.01 and abs(m.coherence - best.coherence) < 0.01]
    if any(_PREFERRED in m.could_be_from_charset for m in tied):
        return _PREFERRED
    return best.encoding


def _looks_binary(text: str) -> bool:
    return "\x00" in text or len(_CONTROLS.findall(text)) > 0.05 * max(len(text), 1)


def as_utf8(path: Path, encoding: str | None = None, workdir: str | Path | None = None) -> Decoded:
    """The file as UTF-8: itself when it already is, else a copy decoded from its encoding, detected unless
    given (bytes the encoding cannot decode become U+FFFD, which the cleaning report counts)."""
    encoding = encoding or detect_encoding(path)
    if encoding == "utf-8":
        return Decoded(path, encoding)
    target = Path(tempfile.mkdtemp(prefix="workbench-utf8-", dir=workdir)) / path.name
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := source.read(2**20):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))
    return Decoded(target, encoding)
