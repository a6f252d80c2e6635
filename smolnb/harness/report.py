"""What an eval folder says.

A table per model x suite, a plot, a sample-by-sample comparison of two models, and a browser of
failed samples that opens their traces.
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from ..agent.confidence import LABELS
from ..errors import MissingExtraError, UserError
from .evaluate import Sample, load_samples

__all__ = ["Report", "compare", "report", "wilson"]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a success rate (sound for small n and rates near 0 or 1)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if successes == 0 else min(low, p), 1.0 if successes == n else max(high, p))


class Report:
    """Rows per (model, suite).

    Each with n, success rate with its 95% interval, mean steps, model calls, tokens, latency,
    errors by kind.
    """

    def __init__(self, samples: list[Sample], folder: Path | None = None) -> None:
        self.samples = samples
        self.folder = folder
        groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for s in samples:
            groups[(s.model, s.suite)].append(s)
        self.rows: list[dict[str, Any]] = []
        for (model, suite), group in sorted(groups.items()):
            n, ok = len(group), sum(s.correct for s in group)
            low, high = wilson(ok, n)
            errors = Counter(s.error_kind for s in group if s.error_kind)
            self.rows.append(
                {
                    "model": model,
                    "suite": suite,
                    "n": n,
                    "success": ok / n,
                    "ci_low": low,
                    "ci_high": high,
                    "steps": sum(s.steps for s in group) / n,
                    "model_calls": sum(s.model_calls for s in group) / n,
                    "tokens": sum(s.input_tokens + s.output_tokens for s in group) / n,
                    "latency": sum(s.latency for s in group) / n,
                    "errors": dict(errors),
                }
            )

    def by_confidence(self) -> list[dict[str, Any]]:
        """Accuracy per model by how the answer was reached (smolnb.agent.confidence).

        It shows whether "computed and checked" means right.
        """
        groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for s in self.samples:
            groups[(s.model, s.confidence or "unknown")].append(s)
        order = ["checked", "computed", "stated", "forced", "none", "unknown"]
        rows = []
        for (model, kind), group in sorted(groups.items(), key=lambda item: (item[0][0], order.index(item[0][1]))):
            ok = sum(s.correct for s in group)
            rows.append({"model": model, "confidence": kind, "n": len(group), "right": ok / len(group)})
        return rows

    def confidence_table(self) -> str:
        lines = [f"{'model':32} {'answer reached':24} {'n':>4} {'right':>6}"]
        for r in self.by_confidence():
            label = LABELS.get(r["confidence"], r["confidence"])
            lines.append(f"{r['model'][:32]:32} {label:24} {r['n']:4d} {r['right']:6.0%}")
        return "\n".join(lines)

    def table(self) -> str:
        header = f"{'model':32} {'suite':16} {'n':>4} {'success (95% CI)':>22} {'steps':>6} {'calls':>6} {'tokens':>8} {'latency':>8}  errors"
        lines = [header]
        for r in self.rows:
            errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
            lines.append(
                f"{r['model'][:32]:32} {r['suite'][:16]:16} {r['n']:4d} {r['success']:7.0%} ({r['ci_low']:.0%}-{r['ci_high']:.0%}){'':>5}"
                f" {r['steps']:6.2f} {r['model_calls']:6.2f} {r['tokens']:8.0f} {r['latency']:7.1f}s  {errors}"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            "| model | suite | n | success (95% CI) | steps | model calls | tokens | latency | errors |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
            lines.append(
                f"| {r['model']} | {r['suite']} | {r['n']} | {r['success']:.0%} ({r['ci_low']:.0%}–{r['ci_high']:.0%}) | "
                f"{r['steps']:.2f} | {r['model_calls']:.2f} | {r['tokens']:.0f} | {r['latency']:.1f} s | {errors} |"
            )
        return "\n".join(lines)

    def plot(self, path: str | Path | None = None) -> Any:
        """Success rate with its interval per model and suite (a PNG at `path`); returns the figure."""
        try:
            import matplotlib

            matplotlib.use("Agg") if path is not None else None
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise MissingExtraError("notebook", "matplotlib", "eval plots") from exc
        suites = sorted({r["suite"] for r in self.rows})
        models = sorted({r["model"] for r in self.rows})
        fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(suites) * max(1, len(models)) / 2, 3.6))
        width = 0.8 / max(1, len(models))
        for i, model in enumerate(models):
            rows = {r["suite"]: r for r in self.rows if r["model"] == model}
            xs = [j + i * width for j, suite in enumerate(suites) if suite in rows]
            ys = [rows[s]["success"] for s in suites if s in rows]
            errs = [
                [rows[s]["success"] - rows[s]["ci_low"] for s in suites if s in rows],
                [rows[s]["ci_high"] - rows[s]["success"] for s in suites if s in rows],
            ]
            ax.bar(xs, ys, width, yerr=errs, capsize=3, label=model)
        ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(suites))], suites)
        ax.set_ylim(0, 1)
        ax.set_ylabel("success (95% CI)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        head = "".join(
            f"<th>{h}</th>"
            for h in ["model", "suite", "n", "success (95% CI)", "steps", "model calls", "tokens", "latency", "errors"]
        )
        body = "".join(
            f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(r['suite'])}</td><td>{r['n']}</td>"
            f"<td>{r['success']:.0%} ({r['ci_low']:.0%}–{r['ci_high']:.0%})</td><td>{r['steps']:.2f}</td><td>{r['model_calls']:.2f}</td>"
            f"<td>{r['tokens']:.0f}</td><td>{r['latency']:.1f} s</td><td>{html.escape(str(r['errors']) if r['errors'] else '-')}</td></tr>"
            for r in self.rows
        )
        return {"text/plain": self.table(), "text/html": f"<table>{head}{body}</table>"}


def report(out: str | Path) -> Report:
    samples = load_samples(out)
    if not samples:
        raise UserError(f"no samples in {out}: run `smolnb eval run SUITE -m MODEL --out {out}` first")
    return Report(samples, Path(out))


def compare(out: str | Path, model_a: str, model_b: str) -> dict[str, list[str]]:
    """Sample by sample: which tasks only A solved, only B, both, neither.

    Over all epochs: a task counts as solved by a model when most of its epochs were right.
    """
    samples = load_samples(out)
    solved: dict[str, dict[tuple[str, str], list[bool]]] = {model_a: defaultdict(list), model_b: defaultdict(list)}
    for s in samples:
        if s.model in solved:
            solved[s.model][(s.suite, s.task_id)].append(s.correct)
    for model in (model_a, model_b):
        if not solved[model]:
            raise UserError(f"no samples of {model!r} in {out}; models there: {sorted({s.model for s in samples})}")
    verdict = {m: {k: sum(v) * 2 > len(v) for k, v in solved[m].items()} for m in solved}
    keys = sorted(set(verdict[model_a]) & set(verdict[model_b]))

    def name(k: tuple[str, str]) -> str:
        return f"{k[0]}/{k[1]}"

    return {
        f"only {model_a}": [name(k) for k in keys if verdict[model_a][k] and not verdict[model_b][k]],
        f"only {model_b}": [name(k) for k in keys if verdict[model_b][k] and not verdict[model_a][k]],
        "both": [name(k) for k in keys if verdict[model_a][k] and verdict[model_b][k]],
        "neither": [name(k) for k in keys if not verdict[model_a][k] and not verdict[model_b][k]],
    }
