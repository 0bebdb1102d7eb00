"""What a report run hands its notebooks: the log evaluated once, and the tables built from it.

``chatsim report`` reads (or simulates) the log and evaluates the rules once, in its own
process, then writes the results into the run's staging folder; every notebook gets that
folder as its ``results_path`` parameter and :func:`chatsim.notebook.load_context` reads it
instead of reading the log and evaluating again. A notebook run on its own (JupyterLab,
nbval) has no ``results_path`` and evaluates for itself.

The folder holds Arrow IPC files (fast to write and read, column types kept exactly) and
one ``meta.json``:

========================  =============================================================
``meta.json``             rules (as YAML), data cutoff, message counts, dropped rows, the
                          log's size and source, the pages the run builds, the windows of
                          ``window_rates``
``chats.arrow``           the evaluation's chat table (``Evaluation.chats``)
``shops.arrow``           the evaluation's shop table (``Evaluation.shops``)
``log_shops.arrow``       the log's shops table (profile, time zone, seller type)
``bridge.arrow``          :func:`chatsim.explain.bridge_table` (old rule to new), if staged
``window_rates.arrow``    :func:`chatsim.analysis.window_rates` of the new rule, if staged
``daily.arrow``           :func:`chatsim.rollout.rollout_daily`: the shop table at the end of
                          every day (the rollout page), if staged
``twin.yaml``             the scenario fitted to a real log (``--fit``, :func:`write_twin`),
                          every value commented with its source; the notebooks get its path
                          as ``twin_path``
``replications/``         a :class:`~chatsim.replications.Replications` run, if staged
                          (:func:`write_replications`): ``meta.json`` (scenario, seeds,
                          rules) and each table's runs as ``<table>.arrow``; the summaries
                          are computed again when read
========================  =============================================================

Example:
    >>> import tempfile
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> log, tmp = sample_log(), tempfile.TemporaryDirectory()
    >>> staged = read_results(write_results(tmp.name, log, compare(log)))
    >>> staged.n_messages == log.n_messages, staged.evaluation.shops.equals(compare(log).shops)
    (True, True)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.errors import ReportError
from chatsim.metrics import Evaluation
from chatsim.rules import Rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.replications import Replications

__all__ = [
    "RESULTS_VERSION",
    "TWIN_FILE",
    "StagedResults",
    "read_results",
    "read_replications",
    "write_replications",
    "write_results",
    "write_table",
    "write_twin",
]

#: Version of the folder layout; a folder of another version is refused.
RESULTS_VERSION = 1
_META = "meta.json"
#: The fitted twin scenario's file, in a results folder and beside a report's pages.
TWIN_FILE = "twin.yaml"
_REPLICATIONS = "replications"


def _write_frame(df: pl.DataFrame, path: Path) -> None:
    """``df`` as uncompressed Arrow IPC, written under a temporary name and renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_ipc(tmp, compression="uncompressed")
    os.replace(tmp, path)


def write_table(folder: str | os.PathLike[str], name: str, df: pl.DataFrame) -> Path:
    """Stage one more table (``bridge``, ``window_rates``) in a results folder.

    Example:
        >>> write_table(folder, "bridge", steps)  # doctest: +SKIP
        PosixPath('.../bridge.arrow')
    """
    path = Path(folder) / f"{name}.arrow"
    _write_frame(df, path)
    return path


def write_twin(folder: str | os.PathLike[str], log: ChatLog, *, seed: int = 0) -> Path:
    """Fit a scenario to ``log`` (:func:`chatsim.fit.fit_log`, segments found with ``seed``;
    shop by shop up to :data:`chatsim.twin.PER_SHOP_MAX_SHOPS` shops, as the calibration
    page fits when it runs alone) and stage its YAML, every value commented with its
    source, as ``twin.yaml``.

    Example:
        >>> write_twin(folder, read_log("data/real"), seed=1).name  # doctest: +SKIP
        'twin.yaml'
    """
    from chatsim.fit import fit_log
    from chatsim.twin import PER_SHOP_MAX_SHOPS

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    fitted = fit_log(log, seed=seed, per_shop=log.shops.height <= PER_SHOP_MAX_SHOPS)
    tmp = out / f".{TWIN_FILE}.tmp"
    fitted.write(tmp)
    os.replace(tmp, out / TWIN_FILE)
    return out / TWIN_FILE


def write_replications(folder: str | os.PathLike[str], rep: Replications) -> Path:
    """Stage a replication run in a results folder (``replications/``; its ``meta.json``
    is written last, so a folder with it is complete).

    Example:
        >>> write_replications(folder, run_replications(sc, 3))  # doctest: +SKIP
        PosixPath('.../replications')
    """
    out = Path(folder) / _REPLICATIONS
    out.mkdir(parents=True, exist_ok=True)
    for table, runs in rep.runs.items():
        _write_frame(runs, out / f"{table}.arrow")
    meta = {
        "version": RESULTS_VERSION,
        "scenario": rep.scenario,
        "seed": rep.seed,
        "seeds": list(rep.seeds),
        "rules": list(rep.rules),
        "segment_by": rep.segment_by,
        "level": rep.level,
        "tables": sorted(rep.runs),
    }
    tmp = out / f".{_META}.tmp"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, out / _META)
    return out


def read_replications(folder: str | os.PathLike[str]) -> Replications | None:
    """The replication run staged in a results folder (:func:`write_replications`), or
    ``None`` if the run staged none.

    Example:
        >>> read_replications(folder).n  # doctest: +SKIP
        3
    """
    root = Path(folder) / _REPLICATIONS
    try:
        meta: dict[str, Any] = json.loads((root / _META).read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError as exc:
        raise ReportError(
            f"{root}: the staged replications cannot be read ({exc}); run the report again."
        ) from None
    from chatsim.replications import Replications

    return Replications(
        scenario=str(meta["scenario"]),
        seed=int(meta["seed"]),
        seeds=tuple(int(s) for s in meta["seeds"]),
        rules=tuple(str(r) for r in meta["rules"]),
        segment_by=meta["segment_by"],
        runs={t: pl.read_ipc(root / f"{t}.arrow") for t in meta["tables"]},
        level=float(meta["level"]),
    )


def write_results(
    folder: str | os.PathLike[str],
    log: ChatLog,
    ev: Evaluation,
    *,
    pages: Sequence[str] = (),
    windows_hours: Sequence[float] = (),
) -> Path:
    """Write an evaluation and the log's shops table into ``folder`` (created if missing).

    ``pages`` names the notebooks the run builds (links between pages point only at
    those); ``windows_hours`` are the windows of a ``window_rates`` table staged with
    :func:`write_table`. ``meta.json`` is written last, so a folder with it is complete.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_frame(ev.chats, out / "chats.arrow")
    _write_frame(ev.shops, out / "shops.arrow")
    _write_frame(log.shops, out / "log_shops.arrow")
    meta = {
        "version": RESULTS_VERSION,
        "rules": [r.to_yaml() for r in ev.rules],
        "as_of": ev.as_of.isoformat(),
        "messages_used": ev.messages_used,
        "messages_after_cutoff": ev.messages_after_cutoff,
        "dropped": dict(ev.dropped),
        "n_messages": log.n_messages,
        "log_source": log.source,
        "pages": list(pages),
        "windows_hours": [float(w) for w in windows_hours],
    }
    tmp = out / f".{_META}.tmp"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, out / _META)
    return out


@dataclass(frozen=True)
class StagedResults:
    """A results folder read back: the evaluation, the log's shops table and size, and the
    optional tables (:meth:`table`)."""

    folder: Path
    evaluation: Evaluation
    shops: pl.DataFrame
    n_messages: int
    log_source: str
    pages: tuple[str, ...]
    windows_hours: tuple[float, ...]

    def table(self, name: str) -> pl.DataFrame | None:
        """A staged table (``bridge``, ``window_rates``, ``daily``), or ``None`` if the run
        did not stage it.

        Example:
            >>> read_results(folder).table("bridge")  # doctest: +SKIP
        """
        path = self.folder / f"{name}.arrow"
        return pl.read_ipc(path) if path.is_file() else None

    def replications(self) -> Replications | None:
        """The run's staged replications (:func:`read_replications`), or ``None``.

        Example:
            >>> read_results(folder).replications()  # doctest: +SKIP
        """
        return read_replications(self.folder)


def read_results(folder: str | os.PathLike[str]) -> StagedResults:
    """Read a folder written by :func:`write_results`.

    Raises :class:`ReportError` (naming the folder) when it is incomplete or of another
    layout version.
    """
    root = Path(folder)
    try:
        meta: dict[str, Any] = json.loads((root / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(
            f"{root}: not a complete report results folder ({exc}); leave results_path "
            "empty to evaluate the log in the notebook."
        ) from None
    if meta.get("version") != RESULTS_VERSION:
        raise ReportError(
            f"{root}: results of layout version {meta.get('version')}, this chatsim reads "
            f"{RESULTS_VERSION}; run the report again or leave results_path empty."
        )
    ev = Evaluation(
        rules=[Rule.from_yaml(text) for text in meta["rules"]],
        as_of=dt.datetime.fromisoformat(meta["as_of"]),
        chats=pl.read_ipc(root / "chats.arrow"),
        shops=pl.read_ipc(root / "shops.arrow"),
        messages_used=int(meta["messages_used"]),
        messages_after_cutoff=int(meta["messages_after_cutoff"]),
        dropped={str(k): int(v) for k, v in meta["dropped"].items()},
    )
    return StagedResults(
        folder=root,
        evaluation=ev,
        shops=pl.read_ipc(root / "log_shops.arrow"),
        n_messages=int(meta["n_messages"]),
        log_source=str(meta["log_source"]),
        pages=tuple(meta["pages"]),
        windows_hours=tuple(float(w) for w in meta["windows_hours"]),
    )
