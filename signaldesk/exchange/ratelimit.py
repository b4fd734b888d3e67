"""Client-side rate limits: at most N requests in any one-second window, per bucket (public, private
GET, POST)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# GMO Tier 1 allows 20 GET/s and 20 POST/s per account (spec §2.1). Reads stay at three quarters (a
# burst of fills must not wait a second for the window: the management step that protects them reads
# orders, executions and positions), writes at half; the cycle's few private reads fit in the rest.
# Public: no documented limit, the spec recommends <= 5-10/s.
PRIVATE_GET_PER_SECOND = 15
PRIVATE_POST_PER_SECOND = 10
PUBLIC_PER_SECOND = 5


class RequestWindow:
    """Blocks (with an injectable sleep) until a request fits in the sliding one-second window."""

    def __init__(
        self,
        per_second: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if per_second < 1:
            raise ValueError("per_second must be >= 1")
        self.per_second, self.clock, self.sleep = per_second, clock, sleep
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Wait until one more request keeps the window under the limit, then count it."""
        with self.lock:
            while True:
                now = self.clock()
                while self.sent and now - self.sent[0] >= 1.0:
                    self.sent.popleft()
                if len(self.sent) < self.per_second:
                    self.sent.append(now)
                    return
                pause = 1.0 - (now - self.sent[0])
                self.waited += pause
                self.sleep(pause)


@dataclass
class RateLimits:
    """The three request windows of one GMO account."""

    public: RequestWindow
    private_get: RequestWindow
    private_post: RequestWindow

    @classmethod
    def conservative(
        cls,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimits:
        """Return the default limits (public 5/s, private GET 15/s, POST 10/s)."""
        return cls(
            RequestWindow(PUBLIC_PER_SECOND, clock=clock, sleep=sleep),
            RequestWindow(PRIVATE_GET_PER_SECOND, clock=clock, sleep=sleep),
            RequestWindow(PRIVATE_POST_PER_SECOND, clock=clock, sleep=sleep),
        )

    def for_request(self, private: bool, method: str) -> RequestWindow:
        """Return the window a request counts against."""
        if not private:
            return self.public
        return self.private_get if method == "GET" else self.private_post
