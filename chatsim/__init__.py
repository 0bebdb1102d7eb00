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

import os
import sys
from typing import Any

# Allocator: polars' jemalloc returns freed memory to the system after 0.5 s by default.
# The engine allocates and frees large columns in quick succession; keeping freed pages
# for 5 s saves most of the page faults (compare on 10 M messages ~15 % faster, at the
# cost of holding freed memory a little longer; docs/scaling.md). Only possible before
# polars is first imported; a value you set in _RJEM_MALLOC_CONF is left alone.
ALLOCATOR_CONF = "dirty_decay_ms:5000,muzzy_decay_ms:5000"
if "polars" not in sys.modules:
    os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_CONF)

from chatsim.errors import (  # noqa: E402
    ChatsimError,
    EngineError,
    ReportError,
    RuleError,
    ScenarioError,
    SchemaError,
)
from chatsim.metrics import Evaluation  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H, Rule  # noqa: E402
from chatsim.sample import sample_log, sample_log_path  # noqa: E402
from chatsim.schema import ChatLog, read_log  # noqa: E402

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
