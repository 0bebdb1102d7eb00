"""chatsim: model a marketplace's chat response-rate rules on simulated and real chat logs.

Example:
    >>> import chatsim
    >>> chatsim.NEW_12H.window_hours
    12.0
"""

from __future__ import annotations

from chatsim.errors import (
    ChatsimError,
    EngineError,
    ReportError,
    RuleError,
    ScenarioError,
    SchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "ChatsimError",
    "EngineError",
    "ReportError",
    "RuleError",
    "ScenarioError",
    "SchemaError",
    "__version__",
]
