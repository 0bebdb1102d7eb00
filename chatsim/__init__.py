"""chatsim: model a marketplace's chat response-rate rules on simulated and real chat logs.

The main entry points are re-exported here: :func:`read_log` (validated chat logs),
the built-in rules :data:`LEGACY_24H` and :data:`NEW_12H`, :func:`load_scenario` and
:func:`simulate` (synthetic traffic). Metrics under several rules:
:func:`chatsim.metrics.compare` (the ``chatsim.analysis`` module holds the rule-comparison
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

__version__ = "0.1.0"

# everything else is imported on first use, so that ``import chatsim`` (and the command
# line) stays light: polars, the rule engine, numpy and the holiday calendars load only
# when a name below is first used
_LAZY = {
    "Evaluation": "chatsim.metrics",
    "LEGACY_24H": "chatsim.rules",
    "NEW_12H": "chatsim.rules",
    "Rule": "chatsim.rules",
    "sample_log": "chatsim.sample",
    "sample_log_path": "chatsim.sample",
    "ChatLog": "chatsim.schema",
    "read_log": "chatsim.schema",
    "load_scenario": "chatsim.scenario",
    "Scenario": "chatsim.scenario",
    "simulate": "chatsim.simulate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chatsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
