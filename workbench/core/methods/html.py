"""The small HTML and size formatting the methods' report parts share with the report (report/ imports it
from here: this room sits below it)."""

from __future__ import annotations

import html


def table(header: list[str], rows: list[list[str]], failed: list[bool] | None = None) -> str:
    """Header cells are plain text; row cells are HTML that the caller has escaped; `failed` marks rows."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    marks = ['<tr class="failed">' if failed and failed[i] else "<tr>" for i in range(len(rows))]
    body = "".join(mark + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                   for mark, row in zip(marks, rows, strict=True))
    return f"<table><tr>{head}</tr>{body}</table>"


def size_text(size: int) -> str:
    """MiB for real models; KiB keeps tiny test models from reading '0.0 MiB'."""
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.1f} KiB"
