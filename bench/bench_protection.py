"""Benchmark: fill -> protection latency of a resting entry that fills between two management steps.

Run (one core, like the VPS):  taskset -c 0 .venv/bin/python bench/bench_protection.py [--trials 20]
The real `signaldesk bot` runs in live mode against the fake GMO (REST and private WebSocket) and
the local Bot API, as in the crash harness (tests/chaos). Each trial approves a signal, waits until
the approval is done (the entry rests), prints a trade through the entry on the fake exchange and
measures, on the exchange's side, the time until STOP orders cover the whole position. `--poll-only`
runs the bot without the private stream (GMO_WS_PRIVATE_URL pointing nowhere) to show the REST poll
fallback. Prints median and max; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos.lives import Trial, enter, fill  # noqa: E402
from tests.chaos.world import World  # noqa: E402

SETTLE = 4.0


class PollOnlyWorld(World):
    """A world whose bot has no private stream to follow (the REST poll alone)."""

    def env(self) -> dict[str, str]:
        """Point the private stream at a closed port."""
        return {**super().env(), "GMO_WS_PRIVATE_URL": "ws://127.0.0.1:9/ws/private/v1"}

    def start_bot(self, wait: bool = True) -> None:
        """Start the bot without waiting for a stream that will never connect."""
        polls = len(self.telegram.calls_to("getUpdates"))
        super().start_bot(wait=False)
        if wait:
            self.until(lambda: len(self.telegram.calls_to("getUpdates")) > polls, 30, "polling")


def one_trial(poll_only: bool) -> float:
    """Return the fill -> full stop cover latency of one trade, in seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-protection-") as tmp:
        kind = PollOnlyWorld if poll_only else World
        with kind(Path(tmp)) as world:
            world.start_bot()
            time.sleep(SETTLE)  # past the start-up steps: the fill comes between two periodic steps
            trial = Trial("bench")
            enter(world, trial)
            fill(world, trial)
            (latency,) = world.fake.cover.report()["fill_to_stop_s"]
            world.stop_bot()
            return latency


def main() -> int:
    """Run the trials and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll-only", action="store_true", help="without the private stream")
    args = parser.parse_args()
    latencies = [one_trial(args.poll_only) for _ in range(args.trials)]
    figures = {
        "trials": len(latencies),
        "stream": not args.poll_only,
        "median_s": round(statistics.median(latencies), 3),
        "max_s": round(max(latencies), 3),
        "min_s": round(min(latencies), 3),
    }
    print(
        f"fill -> protection over {figures['trials']} trials "
        f"({'private stream' if figures['stream'] else 'REST poll only'}): median "
        f"{figures['median_s']} s, max {figures['max_s']} s, min {figures['min_s']} s"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
