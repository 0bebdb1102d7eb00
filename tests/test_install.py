"""A wheel installed outside the repository runs ``chatsim report`` on its own.

The wheel is built from a copy of the sources (the checkout gets no ``build/``), with no
network (``--no-build-isolation --no-index``), and installed into a fresh virtual
environment in a temporary folder. To avoid downloading every dependency again, that
environment sees the project environment's site-packages through a ``.pth`` path line,
placed after its own site-packages; the path line does not run the project environment's
own ``.pth`` files, so the editable checkout's import hook stays off and ``chatsim`` is
the wheel's copy (asserted). ``JUPYTER_PATH`` likewise points at the project
environment's Jupyter data (nbconvert's base templates, the kernel spec).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a wheel is built from (everything else in the checkout stays out of it).
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "chatsim", "notebooks")
PAGES = ["rule_comparison.html", "sensitivity.html", "shop_drilldown.html"]


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation"]
    _run([*pip_wheel, "--no-index", "--quiet", "--wheel-dir", dist], cwd=src)
    (wheel,) = dist.glob("chatsim-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps"]
    _run([*install, "--no-index", "--quiet", wheel], cwd=tmp_path)
    purelib = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
        ).strip()
    )
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "zz_project_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    return venv


def test_wheel_installed_outside_the_repo_runs_a_small_report(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    venv = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(ROOT / "scenarios" / "baseline.yaml", work / "baseline.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")

    where = _run(
        [
            venv / "bin" / "python",
            "-c",
            "import chatsim, chatsim.report as r; "
            "print(chatsim.__file__); print(r.NOTEBOOKS_DIR); print(chatsim.sample_log_path())",
        ],
        work,
        env,
    ).splitlines()
    for path in where:  # the package, its notebooks and its sample log: all the wheel's
        assert Path(path).resolve().is_relative_to(venv.resolve()), where
    assert Path(where[2], "messages.csv").is_file()

    _run([venv / "bin" / "chatsim", "report", "baseline.yaml", "--small", "--quiet"], work, env)
    reports = work / "reports"
    assert sorted(p.name for p in (reports / "baseline").glob("*.html")) == PAGES
    assert "baseline/rule_comparison.html" in (reports / "index.html").read_text()
