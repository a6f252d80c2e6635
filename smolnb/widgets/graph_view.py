"""A picture of an entity's neighbourhood in the knowledge graph.

An SVG (no JavaScript, so it stays in saved notebooks and in nbconvert output) above a table of the
facts and where each came from.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

__all__ = ["NeighbourhoodView"]

WIDTH, HEIGHT = 640, 420


class NeighbourhoodView:
    """`NeighbourhoodView(entity, facts)`: the entity in the middle, its neighbours around it.

    One arrow per current fact labelled with the relation; past facts are listed, not drawn.
    """

    def __init__(self, entity: str, facts: list[Any], limit: int = 24) -> None:
        self.entity = entity
        self.facts = facts
        self.limit = limit

    def svg(self) -> str:
        current = [f for f in self.facts if f.valid_to is None]
        others: list[str] = []
        for fact in current:
            for name in (fact.subject, fact.object):
                if name != self.entity and name not in others:
                    others.append(name)
        shown, hidden = others[: self.limit], len(others) - self.limit
        cx, cy, radius = WIDTH / 2, HEIGHT / 2, min(WIDTH, HEIGHT) / 2 - 60
        where = {self.entity: (cx, cy)}
        for i, name in enumerate(shown):
            angle = 2 * math.pi * i / max(1, len(shown)) - math.pi / 2
            where[name] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'font-family="sans-serif" font-size="12">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>',
        ]
        for fact in current:
            if fact.subject not in where or fact.object not in where:
                continue
            (x1, y1), (x2, y2) = where[fact.subject], where[fact.object]
            length = math.hypot(x2 - x1, y2 - y1) or 1.0
            ex, ey = x2 - (x2 - x1) * 34 / length, y2 - (y2 - y1) * 34 / length  # stop at the node's edge
            parts.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="#888" marker-end="url(#arrow)"/>'
            )
            label = html.escape(fact.predicate)
            parts.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 4:.1f}" text-anchor="middle" fill="#555">{label}</text>'
            )
        for name, (x, y) in where.items():
            centre = name == self.entity
            fill, stroke = ("#ffe8a3", "#b8860b") if centre else ("#e8f0fe", "#4a6fa5")
            text = html.escape(name if len(name) <= 22 else name[:21] + "…")
            weight = ' font-weight="bold"' if centre else ""
            parts.append(
                f'<g><title>{html.escape(name)}</title><ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{34 if not centre else 44}" ry="18" '
                f'fill="{fill}" stroke="{stroke}"/><text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle"'
                f"{weight}>{text}</text></g>"
            )
        if hidden > 0:
            parts.append(f'<text x="8" y="{HEIGHT - 8}" fill="#888">and {hidden} more (see the table)</text>')
        if not current:
            parts.append(f'<text x="{cx}" y="{cy + 40}" text-anchor="middle" fill="#888">no current facts</text>')
        parts.append("</svg>")
        return "".join(parts)

    def _rows(self) -> list[list[str]]:
        rows = []
        for f in sorted(self.facts, key=lambda f: (f.valid_to is not None, -f.valid_from)):
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.valid_from))
            until = "now" if f.valid_to is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(f.valid_to))
            origin = ", ".join(
                f"{k} {f.provenance[k]}" for k in ("source", "run_id", "step", "agent") if f.provenance.get(k) not in (None, "")
            )
            rows.append([f.subject, f.predicate, f.object, f"{since} – {until}", origin])
        return rows

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = self._rows()
        header = ["subject", "relation", "object", "valid", "from"]
        table = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in header)
        text = "\n".join(f"{s} -[{p}]-> {o}  ({valid}{'; ' + origin if origin else ''})" for s, p, o, valid, origin in rows)
        return {
            "text/plain": f"{self.entity}: {len(rows)} facts\n{text}",
            "text/html": f"<div class='smolnb-graph'>{self.svg()}<table>{head}{table}</table></div>",
            "image/svg+xml": self.svg(),
        }
