"""Data sources: the bundled tweet corpus, local CSV / TSV / JSON / JSONL / parquet files, hub datasets.

Every source is read through `datasets` (text files first decoded from their detected encoding), cleaned the
same way (undecodable bytes replaced, empty and exact-duplicate texts dropped, with counts), and split
deterministically and stratified by label into train / dev / test. The split's sizes and a content hash
travel with every run.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.core.errors import DataSourceError
from workbench.core.quiet import quiet_libraries
from workbench.core.recipe import BUNDLED_TWEETS, DataConfig
from workbench.core.sources.data_split import (
    LABEL,
    SPLITS,
    TEXT,
    class_counts,
    column_values,
    content_hash,
    stratified_split,
)
from workbench.core.sources.labels import (
    check_scalar_labels,
    class_names_of,
    label_names_of,
    label_text,
    named_classes,
)
from workbench.core.sources.resources import bundled_tweets_csv
from workbench.core.sources.text_encoding import REPLACEMENT_CHAR, as_utf8

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet", ".txt": "text"}
BUNDLED_DATA = {BUNDLED_TWEETS: bundled_tweets_csv}
# The bundled corpus went through a lossy conversion before it was published (emoji became stray bytes that
# no encoding turns back into text; a detector would call it cp775). It is read as it always was, UTF-8 with
# those bytes replaced and counted, so that its content hash and every result made on it stay comparable.
BUNDLED_ENCODINGS = {BUNDLED_TWEETS: "utf-8"}


@dataclass
class CleaningReport:
    rows_read: int
    bytes_replaced_rows: int
    empty_dropped: int
    duplicates_dropped: int
    rows_kept: int

    def line(self) -> str:
        return (
            f"{self.rows_read:,} rows read; {self.bytes_replaced_rows:,} with undecodable bytes replaced; "
            f"{self.empty_dropped:,} empty and {self.duplicates_dropped:,} duplicate texts dropped; "
            f"{self.rows_kept:,} kept"
        )


@dataclass
class TaskData:
    """Cleaned, labelled, split data: `splits` maps train / dev / test to datasets with text and label."""

    splits: dict
    label_names: list[str]
    cleaning: CleaningReport
    content_hash: str

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(self.splits[name]) for name in SPLITS}

    def manifest(self) -> dict:
        return {
            "label_names": self.label_names,
            "sizes": self.sizes,
            "class_counts": {n: class_counts(self.splits[n], self.label_names) for n in SPLITS},
            "content_hash": self.content_hash,
            "cleaning": asdict(self.cleaning),
        }


def read_source(source: str, text_column: str, label_column: str | None):
    """Read a source into a `datasets.Dataset` with a `text` column (and `label` when asked for); the origin
    names the source and, when it was not UTF-8, the encoding it was decoded from."""
    with quiet_libraries():  # the workbench reports progress and read errors itself, in one line
        dataset, origin = _read_raw(source)
    wanted = {TEXT: text_column} | ({LABEL: label_column} if label_column else {})
    missing = [name for name in wanted.values() if name not in dataset.column_names]
    if missing:
        raise DataSourceError(
            f"{origin}: no column {', '.join(repr(m) for m in missing)} "
            f"(columns: {', '.join(dataset.column_names) or 'none'}); set data.text_column / data.label_column"
        )
    dataset = dataset.select_columns(list(wanted.values()))
    return dataset.rename_columns({v: k for k, v in wanted.items() if k != v}), origin


def _read_raw(source: str):
    # datasets looks transformers up in sys.modules while it hashes; when another thread (the window's model
    # summary) is still importing transformers, that finds a half-initialised module and the read fails.
    # Importing it here first waits for that import to finish.
    import transformers  # noqa: F401
    from datasets import Dataset, DatasetDict, concatenate_datasets, load_dataset

    path = BUNDLED_DATA[source]() if source in BUNDLED_DATA else Path(source).expanduser()
    if source.startswith("bundled:") and source not in BUNDLED_DATA:
        raise DataSourceError(f"{source}: unknown bundled data set; bundled: {', '.join(BUNDLED_DATA)}")
    if path.exists():
        loaded, encoding = _read_file(path, load_dataset, BUNDLED_ENCODINGS.get(source))
        origin = f"{source} ({path})" if source in BUNDLED_DATA else str(path)
        return loaded, origin if encoding == "utf-8" else f"{origin} (decoded from {encoding})"
    if source.startswith((".", "/", "~")) or Path(source).suffix.lower() in FORMATS:
        raise DataSourceError(f"{source}: no such data file")
    try:
        loaded = load_dataset(source)
    except Exception as error:
        raise DataSourceError(
            f"{source}: not a local file, and loading it as a hub dataset failed ({_first_line(error)}); "
            "offline, give a local CSV / TSV / JSON / JSONL / parquet file"
        ) from None
    if isinstance(loaded, DatasetDict):
        loaded = concatenate_datasets([loaded[name] for name in loaded])
    assert isinstance(loaded, Dataset)
    return loaded, source


def _read_file(path: Path, load_dataset, encoding: str | None = None) -> tuple[object, str]:
    """A local file through `datasets`, decoded from its own encoding first (detected unless given); the
    dataset and that encoding."""
    builder, options = _builder_for(path)
    decoded = as_utf8(path, encoding) if builder != "parquet" else None
    try:
        data_file = decoded.path if decoded else path
        if builder == "csv" and not _has_a_row(data_file):
            raise DataSourceError(f"{path}: has a header line but no rows")
        return load_dataset(builder, data_files=str(data_file), split="train", **options), (
            decoded.encoding if decoded else "utf-8")
    except DataSourceError:
        raise
    except Exception as error:  # datasets wraps parser errors in several types
        raise DataSourceError(f"{path}: cannot be read as {builder} ({_reader_error(error)})") from None
    finally:
        if decoded and decoded.path != path:
            shutil.rmtree(decoded.path.parent, ignore_errors=True)  # datasets has copied it into Arrow by now


def _builder_for(path: Path) -> tuple[str, dict]:
    if path.is_dir():
        raise DataSourceError(f"{path}: is a folder; give one CSV / TSV / JSON / JSONL / parquet file")
    builder = FORMATS.get(path.suffix.lower())
    if builder is None:
        raise DataSourceError(f"{path}: unknown data format '{path.suffix}'; use one of {', '.join(FORMATS)}")
    if path.stat().st_size == 0:
        raise DataSourceError(f"{path}: the file is empty")
    if builder == "parquet":
        if not _has_parquet_magic(path):
            raise DataSourceError(f"{path}: cannot be read as parquet (no PAR1 marks: not a parquet file); "
                                  "give the file the extension of its format")
        return builder, {}
    options = {"encoding": "utf-8", "encoding_errors": "replace"}
    if path.suffix.lower() == ".tsv":
        options["delimiter"] = "\t"
    return builder, options


def _has_a_row(path: Path) -> bool:
    """A second non-blank line after the header (datasets' own answer is "corresponds to no data")."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = (line for line in handle if line.strip())
        return next(lines, None) is not None and next(lines, None) is not None


def _has_parquet_magic(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(0, path.stat().st_size - 4))
        return head == b"PAR1" and handle.read(4) == b"PAR1"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _reader_error(error: BaseException) -> str:
    """The first line of the innermost cause: datasets wraps every parser error in "An error occurred while
    generating the dataset", which names nothing."""
    while error.__cause__ is not None or (error.__context__ is not None and not error.__suppress_context__):
        error = error.__cause__ or error.__context__
    return _first_line(error)


def clean(dataset, with_labels: bool = True):
    """Strip texts, drop empty ones and exact duplicates (first kept); count what changed."""
    from datasets import Dataset

    labels = column_values(dataset, LABEL) if with_labels else None
    texts, labels, report = clean_columns(column_values(dataset, TEXT), labels)
    return Dataset.from_dict({TEXT: texts} | ({LABEL: labels} if with_labels else {})), report


def clean_columns(texts: list, labels: list | None) -> tuple[list[str], list[str] | None, CleaningReport]:
    """`clean` on plain columns: the kept texts, their labels as class names (None without labels), the counts."""
    texts = ["" if t is None else str(t).strip() for t in texts]
    seen: set[str] = set()
    keep: list[int] = []
    empty = duplicates = 0
    for index, text in enumerate(texts):
        if not text or (labels is not None and _missing(labels[index])):
            empty += 1
        elif text in seen:
            duplicates += 1
        else:
            seen.add(text)
            keep.append(index)
    kept_texts = [texts[i] for i in keep]
    report = CleaningReport(
        rows_read=len(texts),
        bytes_replaced_rows=sum(REPLACEMENT_CHAR in t for t in kept_texts),
        empty_dropped=empty,
        duplicates_dropped=duplicates,
        rows_kept=len(keep),
    )
    return kept_texts, None if labels is None else [label_text(labels[i]) for i in keep], report


def _missing(label) -> bool:
    """No label: empty, or NaN where pandas read an empty cell of a numeric column."""
    return label is None or label != label or str(label).strip() == ""


def load_task_data(config: DataConfig) -> TaskData:
    """The data as the recipe asks for it, read from its source: a job reads it once and passes what it holds
    on; a command on a finished run reads it once (sources/split_inputs.py `load_split`)."""
    with quiet_libraries():  # datasets' bars and logs while it casts and splits are not for the user
        return _task_data(config)


def _task_data(config: DataConfig) -> TaskData:
    from datasets import ClassLabel, Dataset, Features, Value

    raw, origin = read_source(config.source, config.text_column, config.label_column)
    raw_labels = column_values(raw, LABEL)
    check_scalar_labels(raw_labels, config.label_column, origin)
    texts, labels, report = clean_columns(column_values(raw, TEXT), raw_labels)
    if not texts:
        raise DataSourceError(f"{origin}: has no rows with both a text and a label")
    labels = named_classes(class_names_of(labels, config, origin), config, origin)
    label_names = label_names_of(labels, config, origin)
    ids = {name: index for index, name in enumerate(label_names)}
    features = Features({TEXT: Value("string"), LABEL: ClassLabel(names=label_names)})
    labelled = Dataset.from_dict({TEXT: texts, LABEL: [ids[name] for name in labels]}, features=features)
    splits = stratified_split(labelled, config, origin)
    return TaskData(splits, label_names, report, content_hash(splits))
