"""The benchmark harness: interleaved rounds, medians with min–max, ratios, markdown and a PNG chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Where results go: one folder per run, named by its UTC start time.
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Workload:
    """A subject and its baseline; each callable runs one sample and returns seconds per operation."""

    name: str
    description: str
    baseline_label: str
    subject_label: str
    baseline: Callable[[], float] | None = None
    subject: Callable[[], float] | None = None
    #: Target on subject/baseline, e.g. ("<=", 1.10); None when the ratio is only reported.
    target: tuple[str, float] | None = None
    #: Unit of the samples the callables return (ms per operation, or events/s for rates).
    unit: str = "ms/op"
    #: Run one untimed pair first.
    warmup: bool = True
    #: At least this many rounds, whatever ``--rounds`` says (for a small effect in noisy samples).
    min_rounds: int = 0
    #: Instead of ``baseline`` and ``subject``: one round's two samples, taken operation by
    #: operation in turn, so that the machine's drift during a sample hits both alike.
    interleaved: Callable[[], tuple[float, float]] | None = None

    def round(self, index: int) -> tuple[float, float]:
        """One round: (baseline, subject), the two sides alternating which goes first."""
        if self.interleaved is not None:
            return self.interleaved()
        assert self.baseline is not None and self.subject is not None, f"{self.name}: nothing to run"
        if index % 2 == 0:
            baseline = self.baseline()
            return baseline, self.subject()
        subject = self.subject()
        return self.baseline(), subject


@dataclass
class Measurement:
    """A single figure that is not a ratio (a latency percentile, a throughput, CPU per event)."""

    name: str
    value: float
    unit: str
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target
        return self.value <= bound if op == "<=" else self.value >= bound


@dataclass
class Result:
    workload: Workload
    baseline_samples: list[float] = field(default_factory=list)
    subject_samples: list[float] = field(default_factory=list)

    @property
    def round_ratios(self) -> list[float]:
        """Subject / baseline of each round: the two samples ran back to back on the same machine."""
        return [s / b for b, s in zip(self.baseline_samples, self.subject_samples, strict=True)]

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios: a paired estimate, so that the machine's speed
        drifting between rounds (seconds-long swings of ±20% here) cancels out within each pair."""
        return statistics.median(self.round_ratios)

    @property
    def met(self) -> bool | None:
        if self.workload.target is None:
            return None
        op, bound = self.workload.target
        return self.ratio <= bound if op == "<=" else self.ratio >= bound

    def as_dict(self) -> dict[str, Any]:
        def stats(samples: list[float]) -> dict[str, float]:
            return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}

        return {
            "name": self.workload.name,
            "description": self.workload.description,
            "baseline": {"label": self.workload.baseline_label, **stats(self.baseline_samples)},
            "subject": {"label": self.workload.subject_label, **stats(self.subject_samples)},
            "ratio": self.ratio,
            "round_ratios": self.round_ratios,
            "target": None if self.workload.target is None else " ".join(map(str, self.workload.target)),
            "met": self.met,
            "samples": len(self.subject_samples),
        }


def run_workload(workload: Workload, rounds: int, log: Callable[[str], None] = print) -> Result:
    """Run baseline and subject alternately, ``rounds`` samples each (one warm-up pair first)."""
    if workload.warmup:
        workload.round(0)
    result = Result(workload)
    for index in range(max(rounds, workload.min_rounds)):
        baseline, subject = workload.round(index)
        result.baseline_samples.append(baseline)
        result.subject_samples.append(subject)
    log(f"  {workload.name}: ratio {result.ratio:.3f}")
    return result


def _fmt(value: float) -> str:
    # one decimal at and above 1,000, so that a value just short of a target (1,499.6) never prints as it (1500)
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.3f}"


def results_markdown(results: list[Result], context: dict[str, Any], measurements: list[Measurement] = ()) -> str:  # type: ignore[assignment]
    """A markdown table of every result, then one of every measurement."""
    lines = [
        f"# Benchmark results, {context['started']}",
        "",
        f"Machine: {context['machine']}. Baseline and subject run alternately in the same process tree; "
        "each cell is the median of the samples with min–max; ratio = the median over rounds of "
        "subject / baseline within the round (paired, so drift between rounds cancels), with its min–max.",
        "",
        "| workload | unit | baseline | baseline (min–max) | subject | subject (min–max) | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        d = result.as_dict()
        b, s = d["baseline"], d["subject"]
        met = "—" if d["met"] is None else ("yes" if d["met"] else "**no**")
        lines.append(
            f"| {d['name']} | {result.workload.unit} "
            f"| {b['label']} | {_fmt(b['median'])} ({_fmt(b['min'])}–{_fmt(b['max'])}) "
            f"| {s['label']} | {_fmt(s['median'])} ({_fmt(s['min'])}–{_fmt(s['max'])}) "
            f"| {d['ratio']:.3f} ({min(d['round_ratios']):.3f}–{max(d['round_ratios']):.3f}) "
            f"| {d['target'] or 'report'} | {met} |"
        )
    lines += ["", *[f"- **{r.workload.name}**: {r.workload.description}" for r in results], ""]
    if measurements:
        lines += ["| measurement | value | unit | target | met | note |", "|---|---|---|---|---|---|"]
        for m in measurements:
            target = " ".join(map(str, m.target)) if m.target else "report"
            met = "—" if m.met is None else ("yes" if m.met else "**no**")
            lines.append(f"| {m.name} | {_fmt(m.value)} | {m.unit} | {target} | {met} | {m.note} |")
        lines.append("")
    return "\n".join(lines)


def results_chart(results: list[Result], path: Path) -> None:
    """A horizontal bar chart of the ratios, with each target drawn as a tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.workload.name for r in results]
    ratios = [r.ratio for r in results]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.6 * len(results)))
    colors = ["tab:green" if r.met is not False else "tab:red" for r in results]
    ax.barh(names, ratios, color=colors)
    for index, result in enumerate(results):
        ax.text(result.ratio, index, f" {result.ratio:.2f}", va="center")
        if result.workload.target:
            ax.plot([result.workload.target[1]] * 2, [index - 0.4, index + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="grey", linestyle=":")
    ax.set_xlabel("subject / baseline (median); black tick = target")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def results_write(results: list[Result], context: dict[str, Any], measurements: list[Measurement]) -> Path:
    """Write results.md, results.json and chart.png into a new folder; return it."""
    folder = RESULTS_DIR / context["started"].replace(":", "").replace("-", "")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.md").write_text(results_markdown(results, context, measurements))
    (folder / "results.json").write_text(
        json.dumps(
            {
                **context,
                "results": [r.as_dict() for r in results],
                "measurements": [{**m.__dict__, "met": m.met} for m in measurements],
            },
            indent=2,
        )
    )
    if results:
        results_chart(results, folder / "chart.png")
    return folder


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
