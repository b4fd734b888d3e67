"""The evaluation report on disk: report.json, report.md and PNG charts (matplotlib, Agg
backend)."""

from __future__ import annotations

import json
import math
from pathlib import Path

CHARTS = ("auc_by_month.png", "calibration.png")
SYMBOL_ORDER = {"all": 0}


def write_report(folder: Path, report: dict, title: str) -> list[Path]:
    """Write the JSON, Markdown and charts of a report into `folder`; return the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps(report, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    (folder / "report.md").write_text(markdown(report, title), encoding="utf-8")
    draw_charts(folder, report)
    return [folder / "report.json", folder / "report.md", *(folder / name for name in CHARTS)]


def _f(value, digits: int = 3) -> str:
    """Format a number for a table (a dash when missing)."""
    return "-" if value is None else f"{value:.{digits}f}"


def _ci(interval, digits: int = 3) -> str:
    """Format a 95% interval as [low, high]."""
    return "" if not interval else f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def _bps(value, interval=None) -> str:
    """Format basis points with sign (and an interval)."""
    if value is None:
        return "-"
    text = f"{value:+.1f}"
    return text + (f" [{interval[0]:+.1f}, {interval[1]:+.1f}]" if interval else "")


def _pct(value) -> str:
    """Format a share as a whole percentage."""
    return "-" if value is None else f"{value:.0%}"


def _rows(blocks: dict, key: str) -> list[dict]:
    """Return monthly rows then the overall rows of one design, `all` first within a month."""
    months = sorted(blocks["months"], key=lambda r: (r["month"], SYMBOL_ORDER.get(r["symbol"], 1)))
    overall = [{"month": key, "symbol": s, **b} for s, b in blocks["overall"].items()]
    return months + overall


def auc_table(section: dict, label: str) -> list[str]:
    """Return the Markdown table of sign AUC per month and symbol, new vs old design, with the
    control."""
    current, baseline = section["current"], section.get("baseline")
    old = {(r["month"], r["symbol"]): r for r in _rows(baseline, label)} if baseline else {}
    lines = [
        "| month | symbol | new: sign AUC [95% CI] | old (v1): sign AUC [95% CI] | shuffled control | rows |",
        "|---|---|---|---|---|---|",
    ]
    for r in _rows(current, label):
        o = old.get((r["month"], r["symbol"]))
        control = (r["control_auc"] or {}).get("mean")
        lines.append(
            f"| {_bold(r, label)} | {r['symbol']} | {_f(r['sign_auc'])}{_ci(r['sign_auc_ci'])} | "
            f"{_f(o['sign_auc']) + _ci(o['sign_auc_ci']) if o else '-'} | {_f(control)} | {r['rows']} |"
        )
    return lines


def _bold(row: dict, label: str) -> str:
    """Return the month cell, bold for the overall rows."""
    return f"**{label}**" if row["month"] == label else row["month"]


def operating_table(section: dict, label: str) -> list[str]:
    """Return the Markdown table of the operating point per month: rate per side, hit rate, gross
    and net edge."""
    baseline = section.get("baseline")
    old = {(r["month"], r["symbol"]): r for r in _rows(baseline, label)} if baseline else {}
    lines = [
        "| month | symbol | signals/day (long / short) | hit rate | gross bps | net bps [95% CI] | "
        "old (v1): signals/day, hit, net bps [95% CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in _rows(section["current"], label):
        p = r["operating_point"]
        o = old.get((r["month"], r["symbol"]))
        q = o["operating_point"] if o else None
        old_text = (
            f"{_f(q['per_day'], 2)}, {_pct(q['hit_rate'])}, {_bps(q['net_bps'], q['net_ci_bps'])}"
            if q
            else "-"
        )
        lines.append(
            f"| {_bold(r, label)} | {r['symbol']} | {_f(p['per_day'], 2)} ({_f(p['long_per_day'], 2)} / "
            f"{_f(p['short_per_day'], 2)}) | {_pct(p['hit_rate'])} | {_bps(p['gross_bps'])} | "
            f"{_bps(p['net_bps'], p['net_ci_bps'])} | {old_text} |"
        )
    return lines


def markdown(report: dict, title: str) -> str:
    """Return the report as Markdown: data, method, the two tables for walk-forward and holdout,
    what to expect."""
    lines = [f"# {title}", "", f"Created {report['created_at']}.", "", "## Data", ""]
    if report.get("data_note"):
        lines += [report["data_note"], ""]
    for symbol, d in report["data"].items():
        lines.append(
            f"- **{symbol}**: {d['source']}; {d['rows']} candles {d['first'][:16]} .. {d['last'][:16]} UTC "
            f"(sha256 {d['sha256']})"
        )
    lines += method_section(report)
    for name, key, label in (
        ("Walk-forward", "walk_forward", "all folds"),
        ("Holdout (evaluated once, never used to choose anything)", "holdout", "holdout"),
    ):
        section = report[key]
        lines += ["", f"## {name}: direction skill by month", "", *auc_table(section, label)]
        lines += [
            "",
            f"## {name}: the operating point by month",
            "",
            *operating_table(section, label),
        ]
    lines += calibration_section(report["holdout"]["current"]["overall"]["all"])
    lines += expectation_section(report)
    lines += ["", "Charts: " + ", ".join(f"![{name}]({name})" for name in CHARTS), ""]
    return "\n".join(lines)


def method_section(report: dict) -> list[str]:
    """Return how the numbers were made: design, folds, label, costs, operating point, controls,
    look-ahead."""
    folds = report["walk_forward"]["folds"]
    point = report.get("operating_point", {})
    lookahead = report.get("lookahead", {})
    lines = [
        "",
        "## Method",
        "",
        f"- Design (new): {report['designs']['current']}.",
        f"- Compared with (old): {report['designs']['baseline'] or 'not run (train --baseline)'}, refitted "
        "on the same folds and test rows.",
        f"- Target: {report['label']['definition']}. Sign AUC: does P(up) rank the candles that closed higher "
        "an hour later above those that closed lower (0.5 = chance).",
        f"- Walk-forward: {len(folds)} expanding-window folds; each trains, waits "
        f"{report['gap_hours']:g} h, calibrates (Platt) on the next window, waits again, then is tested on "
        "the following block: "
        + "; ".join(
            f"{f['name']} tests {f['test']['start'][:10]}..{f['test']['end'][:10]}" for f in folds
        )
        + ".",
        f"- Operating point: each model's own rank cutoffs on its own calibration window for "
        f"{report['signals_per_day']:g} signals a day over all symbols (half a side); the final model's: LONG "
        f"when P(up) >= {_f(point.get('long_cutoff'), 4)}, SHORT when P(down) >= "
        f"{_f(point.get('short_cutoff'), 4)} (window {point.get('window', {}).get('start', '?')[:10]} .. "
        f"{point.get('window', {}).get('end', '?')[:10]}).",
        f"- Edge: the 1-hour return in the signal's direction from the signal candle's close, before (gross) "
        f"and after (net) costs: {report['costs']['definition']}. Hit rate: share of signals whose 1-hour "
        "return went their way.",
        f"- Intervals: 95% bootstrap over days ({report['bootstrap_draws']} draws). Control: the same model "
        "trained on shuffled up/down labels (mean of several permutations) must score 0.5.",
        f"- Look-ahead: features recomputed on history truncated at {lookahead.get('cuts_per_symbol', '?')} "
        "random cuts a symbol across the whole history equal the full-history values "
        f"({'passed' if lookahead.get('leaking') == [] else 'not run'}).",
    ]
    return lines


def calibration_section(block: dict) -> list[str]:
    """Return the holdout calibration table of P(up)."""
    lines = [
        "",
        "## Calibration of P(up) on the holdout",
        "",
        "| bin | count | mean predicted | observed share up |",
        "|---|---|---|---|",
    ]
    for r in block.get("probability", {}).get("calibration", []):
        lines.append(
            f"| {r['bin']} | {r['count']} | {_f(r['mean_predicted'])} | {_f(r['observed'])} |"
        )
    return lines


def expectation_section(report: dict) -> list[str]:
    """Return 'what to expect' in numbers a trader reads: rate, hit rate, edge, worst month,
    decay."""
    return ["", "## What to expect", "", *(f"- {line}" for line in expectations(report))]


def worst_month(months: list[dict]) -> dict | None:
    """Return the month (all symbols) with the lowest net edge at the operating point among months
    that fired."""
    fired = [
        r for r in months if r["symbol"] == "all" and r["operating_point"]["net_bps"] is not None
    ]
    return min(fired, key=lambda r: r["operating_point"]["net_bps"]) if fired else None


def expectations(report: dict) -> list[str]:
    """Return the plain statements derived from the numbers."""
    wf = report["walk_forward"]["current"]
    ho = report["holdout"]["current"]
    w, h = wf["overall"]["all"], ho["overall"]["all"]
    wp, hp = w["operating_point"], h["operating_point"]
    edge = report.get("edge", {})
    worst = worst_month(wf["months"] + ho["months"])
    lines = [
        f"About {report['signals_per_day']:g} signals a day over all symbols are the target; walk-forward the "
        f"models fired {_f(wp['per_day'], 2)} a day ({_f(wp['long_per_day'], 2)} long, "
        f"{_f(wp['short_per_day'], 2)} short), on the holdout {_f(hp['per_day'], 2)} "
        f"({_f(hp['long_per_day'], 2)} / {_f(hp['short_per_day'], 2)}). Other rules (spread, volume, news, "
        "limits) remove some before they reach you.",
        f"A signal's side was right {_pct(wp['hit_rate'])} of the time walk-forward and "
        f"{_pct(hp['hit_rate'])} on the holdout: about {round((hp['hit_rate'] or 0) * 10)} in 10.",
        f"{_sizes(hp)}: the median winner moved {_bps(hp['median_win_bps'])} bps in an hour, the median "
        f"loser {_bps(hp['median_loss_bps'])} bps (holdout). The average 1-hour move in the signal's "
        f"direction was {_bps(wp['gross_bps'])} bps before costs and {_bps(wp['net_bps'], wp['net_ci_bps'])} "
        f"bps after walk-forward; {_bps(hp['net_bps'], hp['net_ci_bps'])} bps after costs on the holdout.",
        f"Verdict: {edge.get('verdict', 'not judged')}. Treat a signal as a second opinion on direction, not "
        "as a trade that pays for itself.",
        f"Direction skill (sign AUC) {_f(w['sign_auc'])}{_ci(w['sign_auc_ci'])} walk-forward and "
        f"{_f(h['sign_auc'])}{_ci(h['sign_auc_ci'])} on the holdout, against "
        f"{_f((h['control_auc'] or {}).get('mean'))} for shuffled labels: real but faint, and it fades "
        "with time, so the weekly retrain keeps a newer model only when it scores better.",
    ]
    if worst:
        p = worst["operating_point"]
        lines.append(
            f"Worst month: {worst['month']}, net {_bps(p['net_bps'])} bps a signal over "
            f"{p['signals']} signals (hit rate {_pct(p['hit_rate'])}); months like it will come."
        )
    return lines


def _sizes(point: dict) -> str:
    """Say whether the misses are larger than the hits (median sizes)."""
    win, loss = point["median_win_bps"], point["median_loss_bps"]
    if win is None or loss is None:
        return "Too few signals to compare hits and misses"
    return (
        "But the misses are larger than the hits"
        if -loss > win
        else "Hits are at least as large as misses"
    )


def draw_charts(folder: Path, report: dict) -> None:
    """Draw sign AUC by month (new, old, control) and the holdout calibration curve of P(up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    for design, style in (("current", "o-"), ("baseline", "s--")):
        rows = [
            r
            for key in ("walk_forward", "holdout")
            for r in report[key].get(design, {}).get("months", [])
            if r["symbol"] == "all"
        ]
        if rows:
            at = range(len(rows))  # positions, labelled with the months below
            ax.plot(at, [r["sign_auc"] for r in rows], style, label=design)
            if design == "current":
                controls = [(r["control_auc"] or {}).get("mean") for r in rows]
                gaps = [math.nan if c is None else c for c in controls]  # as matplotlib draws None
                ax.plot(at, gaps, ":", label="shuffled control")
                ax.set_xticks(list(at), [r["month"] for r in rows], rotation=60, fontsize=7)
    ax.axhline(0.5, color="grey", linestyle=":")
    ax.set(ylabel="sign AUC", title="Direction skill by month (walk-forward, then holdout)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / CHARTS[0], dpi=80)
    plt.close(fig)
    _calibration_chart(plt, folder / CHARTS[1], report["holdout"]["current"]["overall"]["all"])


def _calibration_chart(plt, path: Path, block: dict) -> None:
    """Draw predicted vs observed share up per probability bin."""
    table = block.get("probability", {}).get("calibration", [])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([r["mean_predicted"] for r in table], [r["observed"] for r in table], marker="o")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(
        xlabel="calibrated P(up)",
        ylabel="observed share up",
        title="Calibration (holdout)",
        xlim=(0.3, 0.7),
        ylim=(0.3, 0.7),
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
