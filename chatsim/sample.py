"""A small bundled chat log exercising every rule feature (for demos, docs and tests).

Four shops over August 2025: a fast team in Jakarta (with a blocked buyer and a
broadcast thread), a weekday-only solo seller in Paris (with a holiday-mode spell),
a chatbot shop in New York (automatic replies, a chat pending at the cutoff) and a
shop with no buyer chats.

Example:
    >>> sample_log().shops.height
    4
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from chatsim.schema import ChatLog, read_log


def sample_log_path() -> Path:
    """The folder holding the bundled sample log (CSV tables)."""
    return Path(str(resources.files("chatsim") / "data" / "sample_log"))


def sample_log() -> ChatLog:
    """Read and validate the bundled sample log."""
    return read_log(sample_log_path())
