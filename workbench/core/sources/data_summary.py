"""What `workbench data` prints about a data source: the cleaning counts, the class balance and the token
lengths of its texts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from workbench.core.sources.data import CleaningReport, clean_columns, read_source
from workbench.core.sources.data_split import LABEL, TEXT, column_values


@dataclass
class DataSummary:
    source: str
    cleaning: CleaningReport
    class_counts: dict[str, int]
    length_percentiles: dict[str, int]

    def lines(self) -> list[str]:
        total = sum(self.class_counts.values())
        lines = [f"data           {self.source}", f"cleaning       {self.cleaning.line()}", "classes"]
        width = max(len(name) for name in self.class_counts)
        for name, count in self.class_counts.items():
            lines.append(f"  {name:<{width}}  {count:>8,}  {100 * count / total:5.1f}%")
        percentiles = "  ".join(f"{k} {v}" for k, v in self.length_percentiles.items())
        lines.append(f"tokens/text    {percentiles}")
        return lines


def summarize_data(source: str, text_column: str, label_column: str, tokenizer) -> DataSummary:
    import numpy as np

    raw, origin = read_source(source, text_column, label_column)
    texts, labels, report = clean_columns(column_values(raw, TEXT), column_values(raw, LABEL))
    counts = dict(sorted(Counter(labels).items()))
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]] or [0])
    percentiles = {f"p{q}": int(np.percentile(lengths, q)) for q in (50, 90, 95, 99)}
    percentiles["max"] = int(lengths.max())
    return DataSummary(origin, report, counts, percentiles)
