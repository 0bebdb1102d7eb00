"""Running the notebooks and preparing logs the way the page tests need them.

* :func:`execute` runs a notebook with papermill as ``chatsim report`` does (the project's
  kernel, no progress bar, the notebook's own folder as working directory);
* :func:`write_as_export` writes a simulation as a real export would be: the four tables,
  the shops without the simulator's ``archetype`` column.

Example:
    >>> from pathlib import Path
    >>> callable(execute) and callable(write_as_export)
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import papermill as pm

__all__ = ["execute", "write_as_export"]


def execute(
    notebook: str | Path,
    out: str | Path,
    parameters: dict[str, Any] | None = None,
    cwd: str | Path | None = None,
) -> Path:
    """Run ``notebook`` into ``out`` with ``parameters`` (in ``cwd``, else its folder)."""
    notebook = Path(notebook)
    pm.execute_notebook(
        str(notebook),
        str(out),
        parameters=parameters or {},
        kernel_name="python3",
        language="python",
        progress_bar=False,
        cwd=str(cwd or notebook.parent),
    )
    return Path(out)


def write_as_export(sim: Any, folder: Path) -> Path:
    """Write the simulated log ``sim`` into ``folder`` (created) as a real export: parquet
    tables, the shops without ``archetype``."""
    folder.mkdir(parents=True, exist_ok=True)
    sim.messages.write_parquet(folder / "messages.parquet")
    sim.shops.drop("archetype").write_parquet(folder / "shops.parquet")
    sim.holiday_mode.write_parquet(folder / "holiday_mode.parquet")
    sim.blocked.write_parquet(folder / "blocked.parquet")
    return folder
