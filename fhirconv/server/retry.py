"""When to try a request again, and how long to wait first.

Exponential backoff with a cap, and the server's ``Retry-After`` taking
precedence when it sends one (RFC 9110 section 10.2.3: seconds or an HTTP
date).  The policy is data, so tests can shrink every delay to milliseconds and
replace the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 429 and the 5xx statuses that mean "try later"; 501 and 505 will not change.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` further attempts after the first one."""

    retries: int = 3
    backoff: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` counts from 1)."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            # A server that asks for longer than we would ever wait gets our
            # maximum; it answers again and the retries run out honestly.
            return min(asked, self.max_delay)
        return min(self.backoff * 2.0 ** (attempt - 1), self.max_delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header, or None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
