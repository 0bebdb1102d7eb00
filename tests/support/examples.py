"""How many examples the property tests draw.

The default run (``make test``, CI) draws the counts written in the tests; set
``CHATSIM_EXAMPLES`` to a factor for a thorough run before a release, e.g.
``CHATSIM_EXAMPLES=5 make test-fast`` draws five times as many.

Example:
    >>> examples(40) >= 1
    True
"""

from __future__ import annotations

import os

__all__ = ["EXAMPLES_ENV", "examples"]

#: The environment variable that multiplies every property test's example count.
EXAMPLES_ENV = "CHATSIM_EXAMPLES"


def examples(n: int) -> int:
    """``n`` times the factor in :data:`EXAMPLES_ENV` (default 1), at least 1."""
    raw = os.environ.get(EXAMPLES_ENV, "1").strip() or "1"
    try:
        factor = float(raw)
    except ValueError:
        raise ValueError(f"{EXAMPLES_ENV}={raw!r} is not a number (e.g. 5)") from None
    return max(1, round(n * factor))
