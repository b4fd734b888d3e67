"""The evaluation report on disk: report.json, report.md and PNG charts (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path

CHARTS = ("auc_by_fold.png", "calibration.png", "return_by_decile.png")


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


def _pct(value) -> str:
    """Format a return as a percentage with sign."""
    return "-" if value is None else f"{value * 100:+.3f}%"


def block_rows(name: str, block: dict) -> list[str]:
    """Return Markdown table rows (one per side) for a scored block."""
    rows = []
    for side in ("long", "short"):
        m = block[side]
        rows.append(
            f"| {name} | {side} | {_f(m['auc'])} | {_f(block['direction']['directional_auc'])} | {_f(m['brier'], 4)} "
            f"/ {_f(m['base_rate_brier'], 4)} | {_f(m['log_loss'])} | {_f(m['base_rate'])} | "
            f"{_f(m['at_threshold']['per_day'], 2)} ({_f(m['at_threshold']['precision'], 2)}) | "
            f"{_f(m['top_fraction']['per_day'], 1)} ({_f(m['top_fraction']['precision'], 2)}) | "
            f"{_pct(m['top_fraction']['mean_return_after_fees'])} | {_pct(m['all_candles_mean_return'])} | "
            f"{_f(block.get('control_auc', {}).get(side))} |"
        )
    return rows


def markdown(report: dict, title: str) -> str:
    """Return the report as Markdown: data, method, headline table, calibration, thresholds, caveats."""
    lines = [
        f"# {title}",
        "",
        f"Created {report['created_at']}. Label: {report['label']['definition']}.",
        "",
        "## Data",
        "",
    ]
    if report.get("data_note"):
        lines += [report["data_note"], ""]
    for symbol, d in report["data"].items():
        lines.append(
            f"- **{symbol}**: {d['source']}; {d['rows']} candles {d['first'][:16]} .. {d['last'][:16]} UTC "
            f"(sha256 {d['sha256']})"
        )
    lines += [
        "",
        "## Results",
        "",
        "Event AUC: does the model rank candles that move >= the label size above those that do not (mostly a "
        "volatility question). Directional AUC: among candles that did move, does long-minus-short tell up from "
        "down. Brier is shown against the base-rate Brier (always predicting the block's event rate). "
        f"Returns are the mean 1-hour forward return per signal minus a {report['round_trip_cost']:.2%} "
        "round-trip cost; 'all' is the same for every candle, before costs. Control: AUC of a model trained on "
        "shuffled labels.",
        "",
        "| block | side | event AUC | dir. AUC | Brier / base | log loss | base rate | at threshold: per day "
        "(precision) | top 10%: per day (precision) | top 10% return after costs | all candles return | "
        "control AUC |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fold in report["walk_forward"]["folds"]:
        lines += block_rows(
            f"{fold['name']} ({fold['test']['start'][:10]}..{fold['test']['end'][:10]})", fold
        )
    lines += block_rows("walk-forward pooled", report["walk_forward"]["pooled"])
    holdout = report["holdout"]
    lines += block_rows(
        f"**holdout** ({holdout['test']['start'][:10]}..{holdout['test']['end'][:10]})", holdout
    )
    for symbol, block in holdout["per_symbol"].items():
        lines += block_rows(f"holdout {symbol}", block)
    lines += [
        "",
        "## Calibration on the holdout",
        "",
        "| side | bin | count | mean predicted | observed |",
        "|---|---|---|---|---|",
    ]
    for side in ("long", "short"):
        lines += [
            f"| {side} | {r['bin']} | {r['count']} | {_f(r['mean_predicted'])} | {_f(r['observed'])} |"
            for r in holdout[side]["calibration"]
        ]
    lines += threshold_section(report)
    lines += reading_section(report)
    lines += ["", "Charts: " + ", ".join(f"![{name}]({name})" for name in CHARTS), ""]
    return "\n".join(lines)


def threshold_section(report: dict) -> list[str]:
    """Return the Markdown on how often the thresholds fire and which thresholds give 1-3 signals a day."""
    t = report["thresholds"]
    wf, ho = report["walk_forward"]["pooled"], report["holdout"]
    fired = [
        f"{name}: {(b['long']['at_threshold']['per_day'] or 0) + (b['short']['at_threshold']['per_day'] or 0):.2f}"
        for name, b in (("walk-forward", wf), ("holdout", ho))
    ]
    lines = [
        "",
        "## Thresholds",
        "",
        f"Defaults: LONG >= {t['long']}, SHORT >= {t['short']}, top {t['top_fraction']:.0%} by confidence rank. "
        f"Desk-wide signals per day at the default probability thresholds: {'; '.join(fired)}.",
        "",
        "Thresholds that would give about 1-3 desk-wide signals a day (chosen on the walk-forward predictions, "
        "not the holdout; precision = share of those signals whose event happened):",
        "",
        "| signals/day | LONG threshold (precision) | SHORT threshold (precision) |",
        "|---|---|---|",
    ]
    for s in report["suggested_thresholds"]:
        lines.append(
            f"| {s['signals_per_day']} | {_f(s['long']['threshold'])} ({_f(s['long']['precision'], 2)}) | "
            f"{_f(s['short']['threshold'])} ({_f(s['short']['precision'], 2)}) |"
        )
    return lines


def reading_section(report: dict) -> list[str]:
    """Return plain statements derived from the numbers: what the model can and cannot do."""
    holdout, pooled = report["holdout"], report["walk_forward"]["pooled"]
    fired = sum((holdout[s]["at_threshold"]["per_day"] or 0) for s in ("long", "short"))
    directional = holdout["direction"]["directional_auc"]
    top = {s: holdout[s]["top_fraction"]["mean_return_after_fees"] for s in ("long", "short")}
    top_probability = max(holdout[s]["max_predicted"] for s in ("long", "short"))
    controls = [
        f["control_auc"][s]
        for f in [*report["walk_forward"]["folds"], holdout]
        for s in ("long", "short")
    ]
    return [
        "",
        "## Reading these numbers",
        "",
        f"- Event AUC on the holdout is {_f(holdout['long']['auc'])} (long) and {_f(holdout['short']['auc'])} "
        f"(short): the model ranks *whether* a {report['label']['move']:.1%} move happens within the hour, which "
        "is mostly a volatility forecast.",
        f"- Directional AUC is {_f(directional)} on the holdout ({_f(pooled['direction']['directional_auc'])} "
        "walk-forward); published work puts honest directional skill of candle features at this horizon at "
        "0.51-0.56. "
        + (
            "Telling up from down stays near chance."
            if (directional or 0) <= 0.56
            else "ABOVE that range: presume leakage until the checks explain it."
        ),
        f"- The default thresholds fire {fired:.2f} times a day on the holdout; the highest calibrated "
        f"probability seen there is {top_probability:.2f}. The table above gives thresholds "
        "for 1-3 signals a day; their precision is the event rate to expect, not a win rate after costs.",
        f"- Top-decile signals earn {_pct(top['long'])} (long) and {_pct(top['short'])} (short) per trade after "
        f"a {report['round_trip_cost']:.2%} round-trip cost on the holdout, against {_pct(0.0)} for no trade.",
        f"- Shuffled-label controls (mean of several permutations) range {min(controls):.3f}..{max(controls):.3f} "
        "across folds and holdout, i.e. at chance; the features pass the truncation (look-ahead) check at "
        "every training run.",
    ]


def draw_charts(folder: Path, report: dict) -> None:
    """Draw AUC by fold, the holdout calibration curve and forward return by score decile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = [*report["walk_forward"]["folds"], report["holdout"]]
    names = [b["name"] for b in blocks]
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, values in (
        ("long event AUC", [b["long"]["auc"] for b in blocks]),
        ("short event AUC", [b["short"]["auc"] for b in blocks]),
        ("directional AUC", [b["direction"]["directional_auc"] for b in blocks]),
        ("shuffled-label control (long)", [b["control_auc"]["long"] for b in blocks]),
    ):
        ax.plot(names, values, marker="o", label=label)
    ax.axhline(0.5, color="grey", linestyle=":")
    ax.set(ylabel="AUC", title="AUC by walk-forward fold and holdout")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / CHARTS[0], dpi=80)
    plt.close(fig)
    _calibration_chart(plt, folder / CHARTS[1], report["holdout"])
    _decile_chart(plt, folder / CHARTS[2], report["holdout"], report["walk_forward"]["pooled"])


def _calibration_chart(plt, path: Path, block: dict) -> None:
    """Draw predicted vs observed event rate per probability bin."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for side in ("long", "short"):
        table = block[side]["calibration"]
        ax.plot(
            [r["mean_predicted"] for r in table],
            [r["observed"] for r in table],
            marker="o",
            label=side,
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(
        xlabel="calibrated probability",
        ylabel="observed event rate",
        title="Calibration (holdout)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _decile_chart(plt, path: Path, holdout: dict, pooled: dict) -> None:
    """Draw mean forward return (bps) by decile of long-minus-short probability."""
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.4
    for offset, (label, block) in zip(
        (-width / 2, width / 2), (("walk-forward", pooled), ("holdout", holdout)), strict=True
    ):
        rows = block["return_by_decile"]
        ax.bar(
            [r["decile"] + offset for r in rows],
            [r["mean_forward_return"] * 1e4 for r in rows],
            width,
            label=label,
        )
    ax.axhline(0, color="grey")
    ax.set(
        xlabel="decile of long-minus-short probability (10 = most long)",
        ylabel="mean 1h forward return (bps)",
        title="Forward return by confidence decile (before costs)",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
