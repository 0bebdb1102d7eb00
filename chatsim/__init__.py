"""chatsim: model a marketplace's chat response-rate rules on simulated and real chat logs.

The main entry points are re-exported here: :func:`read_log` (validated chat logs),
the built-in rules :data:`LEGACY_24H` and :data:`NEW_12H`, :func:`load_scenario` and
:func:`simulate` (synthetic traffic). Metrics under several rules:
:func:`chatsim.metrics.compare` (the ``chatsim.compare`` module holds the rule-comparison
analysis: flips, sweeps, what-ifs).

Example:
    >>> import chatsim
    >>> chatsim.NEW_12H.window_hours
    12.0
    >>> from chatsim.metrics import compare
    >>> ev = compare(chatsim.read_log(chatsim.sample_log_path()))
    >>> ev.summary()["rule"].to_list()
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

from typing import Any

from chatsim.errors import (
    ChatsimError,
    EngineError,
    ReportError,
    RuleError,
    ScenarioError,
    SchemaError,
)
from chatsim.metrics import Evaluation
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.sample import sample_log, sample_log_path
from chatsim.schema import ChatLog, read_log

__version__ = "0.1.0"

# the simulator pulls in numpy and the holidays calendars: import it on first use
_LAZY = {
    "load_scenario": "chatsim.scenario",
    "Scenario": "chatsim.scenario",
    "simulate": "chatsim.simulate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chatsim' has no attribute {name!r}")


__all__ = [
    "LEGACY_24H",
    "NEW_12H",
    "ChatLog",
    "ChatsimError",
    "EngineError",
    "Evaluation",
    "ReportError",
    "Rule",
    "RuleError",
    "Scenario",
    "ScenarioError",
    "SchemaError",
    "__version__",
    "load_scenario",
    "read_log",
    "sample_log",
    "sample_log_path",
    "simulate",
]
