"""The full crash and fault sweep, run on demand (it takes about 15 minutes; `./dev test` runs a
representative set):

    .venv/bin/python -m tests.chaos.sweep --full            # every crash point both ways, every
    fault on every step .venv/bin/python -m tests.chaos.sweep --lives 50        # 50 lives, each
    killed at a seeded random crash point .venv/bin/python -m tests.chaos.sweep --full --json     #
    ... and the figures as one JSON object at the end

Prints one line per trade life and the figures the issue asks for: positions without stop or
loss-cut for more than 10 s (and without a stop), the longest windows, duplicate orders, trades left
unknown or inconsistent, fill -> stop latency (median, max), SIGKILLs. Exit 1 when any life had a
problem.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from tests.chaos.lives import CRASHES, SLOW, Outcome, Trial, run_life, trials
from tests.chaos.world import World


def random_lives(count: int, seed: int) -> list[Trial]:
    """Return `count` lives, each with a crash point and a direction drawn from a seeded
    generator."""
    rng = random.Random(seed)
    points = list(CRASHES)
    return [
        Trial(f"life{n}:{c}:{d}", d, crash=c)
        for n in range(count)
        for c, d in [(rng.choice(points), rng.choice(("LONG", "SHORT")))]
    ]


def run_one(trial: Trial, keep: Path | None = None) -> Outcome:
    """Run one life in a fresh world; a life that times out is an outcome with that problem. The
    world of a life with a problem (database, bot output and logs) is copied under `keep`."""
    slow = trial.fault is not None and trial.fault[1] == "timeout"
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        with World(Path(tmp), timeout_sleep=SLOW if slow else 1.5) as world:
            try:
                outcome = run_life(world, trial)
            except AssertionError as exc:
                cover = world.fake.cover.report()
                outcome = Outcome(trial, cover, [f"did not settle: {exc}"], kills=world.kills)
        if keep is not None and not outcome.ok:
            shutil.copytree(tmp, keep / trial.name.replace(":", "_"), dirs_exist_ok=True)
    return outcome


def figures(outcomes: list[Outcome]) -> dict:
    """Return the sweep's figures."""
    latencies = [s for o in outcomes for s in o.cover["fill_to_stop_s"]]
    return {
        "lives": len(outcomes),
        "kills": sum(o.kills for o in outcomes),
        "positions": sum(o.cover["positions"] for o in outcomes),
        "bare_over_10s": sum(o.cover["bare_over_10s"] for o in outcomes),
        "stopless_over_10s": sum(o.cover["stopless_over_10s"] for o in outcomes),
        "longest_bare_s": round(max((o.cover["longest_bare_s"] for o in outcomes), default=0), 3),
        "longest_stopless_s": round(
            max((o.cover["longest_stopless_s"] for o in outcomes), default=0), 3
        ),
        "duplicates": sum(1 for o in outcomes for p in o.problems if p.startswith("duplicate")),
        "lives_with_problems": sum(1 for o in outcomes if not o.ok),
        "fill_to_stop_median_s": round(statistics.median(latencies), 3) if latencies else None,
        "fill_to_stop_max_s": round(max(latencies), 3) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print what it found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every crash point and fault")
    parser.add_argument("--lives", type=int, default=0, help="extra lives with random crash points")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    parser.add_argument(
        "--keep", type=Path, help="copy the world of every life with a problem here"
    )
    args = parser.parse_args(argv)
    chosen = trials(args.full) + random_lives(args.lives, args.seed)
    outcomes = []
    for trial in chosen:
        outcome = run_one(trial, args.keep)
        outcomes.append(outcome)
        cover = outcome.cover
        print(
            f"{trial.name:<34} {'ok ' if outcome.ok else 'BAD'} {outcome.seconds:5.1f} s  "
            f"stopless {cover['longest_stopless_s']:5.2f} s  bare {cover['longest_bare_s']:4.2f} s  "
            f"kills {outcome.kills}  {'; '.join(outcome.problems)}",
            flush=True,
        )
    summary = figures(outcomes)
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0 if summary["lives_with_problems"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
