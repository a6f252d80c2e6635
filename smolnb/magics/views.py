"""What the magics show: small tables, links and the namespace line, as HTML in a notebook and text elsewhere."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["Link", "NamespaceChanges", "Table"]


class NamespaceChanges:
    """The line under a run's trace: the variables it created, changed and deleted."""

    def __init__(self, changes: dict[str, list[str]]) -> None:
        self.changes = changes

    def __bool__(self) -> bool:
        return any(self.changes.values())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        parts = [f"{kind}: {', '.join(names)}" for kind, names in self.changes.items() if names]
        text = "namespace: " + " · ".join(parts) + "  (`%agent undo` restores)"
        return {
            "text/plain": text,
            "text/html": f"<div class='snb-ns' style='font-size:12px;color:#555'>{html.escape(text)}</div>",
        }


class Link:
    """A link in the notebook (and the URL as text elsewhere)."""

    def __init__(self, url: str, label: str) -> None:
        self.url, self.label = url, label

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": f"{self.label}: {self.url}",
            "text/html": f"<a href='{html.escape(self.url)}' target='_blank'>{html.escape(self.label)}</a>",
        }


class Table:
    """A small table that shows as HTML in a notebook and as text in a terminal."""

    def __init__(self, header: list[str], rows: list[list[Any]], note: str = "") -> None:
        self.header, self.rows, self.note = header, rows, note

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        cells = [self.header] + [[str(c) for c in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.header))]
        text = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        note_html = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return {
            "text/plain": text + (f"\n{self.note}" if self.note else ""),
            "text/html": f"<table>{head}{body}</table>{note_html}",
        }
