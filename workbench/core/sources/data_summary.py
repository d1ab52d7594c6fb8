"""What `workbench data` prints about a data source: the cleaning counts, the class balance and the token
lengths of its texts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from workbench.core.recipe import DataConfig
from workbench.core.sources.data import CleaningReport, clean_columns, read_source
from workbench.core.sources.data_split import LABEL, TEXT, column_values


@dataclass
class DataSummary:
    source: str
    cleaning: CleaningReport
    class_counts: dict[str, int]
    length_percentiles: dict[str, int]
    suggested_max_length: int

    def lines(self) -> list[str]:
        total = sum(self.class_counts.values())
        lines = [f"data           {self.source}", f"cleaning       {self.cleaning.line()}", "classes"]
        width = max(len(name) for name in self.class_counts)
        for name, count in self.class_counts.items():
            lines.append(f"  {name:<{width}}  {count:>8,}  {100 * count / total:5.1f}%")
        percentiles = "  ".join(f"{k} {v}" for k, v in self.length_percentiles.items())
        lines.append(f"tokens/text    {percentiles}")
        lines.append(f"max_length     {self.suggested_max_length} suggested (p95, to a multiple of 8): longer "
                     "texts are cut, shorter ones padded")
        return lines


def suggested_max_length(p95: int) -> int:
    """data.max_length for these texts: 95% of them whole, rounded up to a multiple of 8 (what kernels like),
    within the recipe's bounds."""
    limits = DataConfig.model_fields["max_length"].metadata
    low = next(c.ge for c in limits if hasattr(c, "ge"))
    high = next(c.le for c in limits if hasattr(c, "le"))
    return min(high, max(low, -(-p95 // 8) * 8))


def summarize_data(source: str, text_column: str, label_column: str, tokenizer) -> DataSummary:
    raw, origin = read_source(source, text_column, label_column)
    texts, labels, report = clean_columns(column_values(raw, TEXT), column_values(raw, LABEL))
    return summarize_columns(origin, texts, labels, report, tokenizer)


def summarize_columns(origin: str, texts: list[str], labels: list[str], report: CleaningReport,
                      tokenizer) -> DataSummary:
    """The summary of cleaned columns (the window's Data step names the classes first)."""
    import numpy as np

    counts = dict(sorted(Counter(labels).items()))
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]] or [0])
    percentiles = {f"p{q}": int(np.percentile(lengths, q)) for q in (50, 90, 95, 99)}
    percentiles["max"] = int(lengths.max())
    return DataSummary(origin, report, counts, percentiles, suggested_max_length(percentiles["p95"]))
