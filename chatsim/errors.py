"""The few exception types chatsim raises.

Every message names what is wrong, where (file, column or key), how much
(rows affected, a few examples) and what to do about it, so a policy analyst
can act on it without reading a traceback.

Example:
    >>> try:
    ...     raise SchemaError("messages.csv: column 'sent_at' is missing")
    ... except ChatsimError as exc:
    ...     print(exc)
    messages.csv: column 'sent_at' is missing
"""

from __future__ import annotations

__all__ = [
    "ChatsimError",
    "ChatsimWarning",
    "EngineError",
    "FitError",
    "OutputError",
    "ReportError",
    "RuleError",
    "ScenarioError",
    "SchemaError",
]


class ChatsimError(Exception):
    """Base class of every error chatsim raises on purpose."""


class SchemaError(ChatsimError):
    """A chat log or shop table does not match the documented schema."""


class RuleError(ChatsimError):
    """A rule definition (YAML or Python) is invalid."""


class ScenarioError(ChatsimError):
    """A scenario file is invalid (unknown key, bad value, unknown time zone...)."""


class ReportError(ChatsimError):
    """A report could not be produced (a notebook failed, an output is missing...)."""


class EngineError(ChatsimError):
    """A compute engine (polars, buckets, Spark) is unknown, unavailable, misconfigured or
    given an option it does not take."""


class ChatsimWarning(UserWarning):
    """Something in the input changes no result but may be a mistake (e.g. side-table rows
    naming shops that have no messages); the command line prints it as one line."""


class OutputError(ChatsimError):
    """An output path cannot be written: a read-only folder, a folder where a file is
    expected (or the reverse), an unsupported file type."""


class FitError(ChatsimError):
    """A chat log cannot be fitted to a scenario: too short, no seller replies, an unknown
    segment column."""
