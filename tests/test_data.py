import pytest

from tests.tiny import tiny_tokenizer
from workbench.core.errors import DataSourceError
from workbench.core.recipe import DataConfig
from workbench.core.sources.data import load_task_data
from workbench.core.sources.data_split import stratified_split
from workbench.core.sources.data_summary import suggested_max_length, summarize_data


def tiny_config(path, **overrides) -> DataConfig:
    return DataConfig(source=str(path), train_size=60, dev_size=24, test_size=24, **overrides)


def test_same_seed_same_split_other_seed_other_split(tiny_csv):
    first = load_task_data(tiny_config(tiny_csv))
    again = load_task_data(tiny_config(tiny_csv))
    other = load_task_data(tiny_config(tiny_csv, seed=43))
    assert first.content_hash == again.content_hash
    assert list(first.splits["test"]["text"]) == list(again.splits["test"]["text"])
    assert other.content_hash != first.content_hash
    assert set(other.splits["test"]["text"]) != set(first.splits["test"]["text"])


def test_split_is_stratified_disjoint_and_sized(tiny_csv):
    data = load_task_data(tiny_config(tiny_csv))
    assert data.sizes == {"train": 60, "dev": 24, "test": 24}
    assert data.manifest()["class_counts"]["dev"] == {"negative": 8, "neutral": 8, "positive": 8}
    texts = [set(data.splits[n]["text"]) for n in ("train", "dev", "test")]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])


def test_split_picks_the_rows_train_test_split_picks(tiny_csv):
    """The split feeds datasets' own stratified index generator; the rows must stay the ones that
    `train_test_split(stratify_by_column=...)` picks, or every content hash recorded so far would change."""
    config = tiny_config(tiny_csv, seed=7)
    data = load_task_data(config)
    labelled = data.splits["train"]
    for name in ("dev", "test"):
        from datasets import concatenate_datasets

        labelled = concatenate_datasets([labelled, data.splits[name]])
    ours = stratified_split(labelled, DataConfig(source="x", train_size=30, dev_size=20, test_size=30, seed=7), "x")
    rest_test = labelled.train_test_split(test_size=30, train_size=50, stratify_by_column="label", seed=7)
    train_dev = rest_test["train"].train_test_split(test_size=20, train_size=30, stratify_by_column="label", seed=7)
    theirs = {"train": train_dev["train"], "dev": train_dev["test"], "test": rest_test["test"]}
    for name in ("train", "dev", "test"):
        assert list(ours[name]["text"]) == list(theirs[name]["text"])
        assert list(ours[name]["label"]) == list(theirs[name]["label"])


def test_cleaning_drops_empty_and_duplicate_texts_and_replaces_bad_bytes(tmp_path):
    path = tmp_path / "messy.csv"
    # UTF-8 (the accented rows say so) with two bytes that no encoding of the rest can explain.
    rows = [b"sentiment,text"] + [f"positive,good {i} caf\u00e9".encode() for i in range(10)]
    rows += [f"negative,bad {i}".encode() for i in range(5)] + [f"neutral,car {i}".encode() for i in range(5)]
    rows += [b"negative,bad \xff\xfe day", b"negative,good 3 caf\xc3\xa9", b"neutral,   "]
    path.write_bytes(b"\n".join(rows) + b"\n")
    data = load_task_data(DataConfig(source=str(path), train_size=0.5, dev_size=0.2, test_size=0.2))
    report = data.cleaning
    assert (report.rows_read, report.empty_dropped, report.duplicates_dropped) == (23, 1, 1)
    assert report.bytes_replaced_rows == 1 and report.rows_kept == 21


def test_split_larger_than_data_is_refused(tiny_csv):
    with pytest.raises(DataSourceError, match=r"tiny.csv: the split asks for 1,024 rows"):
        load_task_data(DataConfig(source=str(tiny_csv), train_size=1000, dev_size=12, test_size=12))


def test_missing_column_names_the_file_and_the_columns(tiny_csv):
    with pytest.raises(DataSourceError, match=r"tiny.csv: no column 'review' \(columns: sentiment, text\)"):
        load_task_data(tiny_config(tiny_csv, text_column="review"))


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataSourceError, match=r"empty.csv: the file is empty"):
        load_task_data(tiny_config(tmp_path / "empty.csv"))


def test_binary_garbage(tmp_path):
    import random

    (tmp_path / "garbage.csv").write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(DataSourceError, match=r"garbage.csv: holds binary data, not CSV text"):
        load_task_data(tiny_config(tmp_path / "garbage.csv"))


def test_garbage_parquet_is_one_line(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all" * 10)
    with pytest.raises(DataSourceError, match=r"bad.parquet: cannot be read as parquet"):
        load_task_data(tiny_config(tmp_path / "bad.parquet"))


def test_unknown_label_and_missing_file(tiny_csv, tmp_path):
    with pytest.raises(DataSourceError, match="labels 'positive' in 'sentiment' are not in data.label_names"):
        load_task_data(tiny_config(tiny_csv, label_names=["negative", "neutral"]))
    with pytest.raises(DataSourceError, match="no such data file"):
        load_task_data(tiny_config(tmp_path / "absent.csv"))


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".json", ".parquet"])
def test_other_formats_read_the_same_rows(tiny_csv, tmp_path, suffix):
    import pandas as pd

    frame = pd.read_csv(tiny_csv)
    path = tmp_path / f"tiny{suffix}"
    {".tsv": lambda: frame.to_csv(path, sep="\t", index=False),
     ".jsonl": lambda: frame.to_json(path, orient="records", lines=True),
     ".json": lambda: frame.to_json(path, orient="records", lines=True),
     ".parquet": lambda: frame.to_parquet(path)}[suffix]()
    assert load_task_data(tiny_config(path)).content_hash == load_task_data(tiny_config(tiny_csv)).content_hash


def test_summary_counts_classes_and_token_lengths(tiny_csv, tmp_path):
    summary = summarize_data(str(tiny_csv), "text", "sentiment", tiny_tokenizer(tmp_path / "tok"))
    assert summary.class_counts == {"negative": 40, "neutral": 40, "positive": 40}
    assert 0 < summary.length_percentiles["p50"] <= summary.length_percentiles["max"]
    assert summary.suggested_max_length % 8 == 0 and summary.suggested_max_length >= summary.length_percentiles["p95"]
    assert [suggested_max_length(p95) for p95 in (3, 8, 41, 900)] == [8, 8, 48, 512]


@pytest.mark.integration
def test_bundled_tweets_have_three_classes():
    data = load_task_data(DataConfig(train_size=300, dev_size=100, test_size=100))
    assert data.label_names == ["negative", "neutral", "positive"]
    assert data.cleaning.rows_read > 38_000 and data.cleaning.duplicates_dropped > 0


def test_reading_while_another_thread_imports_transformers(tiny_csv):
    """The window reads a data preview while its model summary imports transformers in another thread."""
    import subprocess
    import sys

    script = ("import threading\n"
              "from workbench.core.sources.data import read_source\n"
              "threading.Thread(target=lambda: __import__('transformers').AutoConfig).start()\n"
              f"read_source({str(tiny_csv)!r}, 'text', 'sentiment')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-500:]


def test_label_names_name_the_classes_found_in_class_order(tmp_path):
    rows = [f"{'a fine fresh crisp apple' if i % 2 else 'a soft rotten old pear'} {i},{i % 2}\n" for i in range(40)]
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n" + "".join(rows), encoding="utf-8")
    config = DataConfig(source=str(path), label_column="label", label_names=["rotten", "fresh"], train_size=20,
                        dev_size=10, test_size=10)
    data = load_task_data(config)
    assert data.label_names == ["rotten", "fresh"]
    test = data.splits["test"]
    assert all(("fresh" in text) == (label == 1) for text, label in zip(test["text"], test["label"], strict=True))
    with pytest.raises(DataSourceError, match=r"data.label_names gives 3 name\(s\) for 2 classes"):
        load_task_data(config.model_copy(update={"label_names": ["rotten", "fresh", "ripe"]}))
    with pytest.raises(ValueError, match="a class is named twice"):
        DataConfig(label_names=["fresh", "fresh "])
