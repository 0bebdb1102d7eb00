"""One build step on top of pyproject.toml: ship the report notebooks inside the package.

The report notebooks live in the repository's ``notebooks/`` (where they are edited and
where nbval checks them). A wheel, or any non-editable install, gets a copy of them as
package data in ``chatsim/notebooks/``, which :func:`chatsim.report.find_notebooks_dir`
prefers; an editable install keeps reading ``notebooks/`` in the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class BuildPyWithNotebooks(build_py):
    """``build_py`` that also copies ``notebooks/*.ipynb`` to ``<build>/chatsim/notebooks/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads notebooks/ in the checkout
        found = sorted(NOTEBOOKS.glob("*.ipynb"))
        if not found:
            raise SystemExit(f"no report notebooks in {NOTEBOOKS}: the package needs them")
        target = Path(self.build_lib) / "chatsim" / "notebooks"
        target.mkdir(parents=True, exist_ok=True)
        for nb in found:
            shutil.copyfile(nb, target / nb.name)


setup(cmdclass={"build_py": BuildPyWithNotebooks})
