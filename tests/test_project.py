"""Project promises: the two README commands, CI calling the test one, dependency lists in sync,
a self-documenting Makefile."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_bound(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?", spec.strip())
    assert m, spec
    return m.group(1).lower().replace("_", "-"), (m.group(2) or "").replace(" ", "")


def test_environment_yml_matches_pyproject():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = list(pp["dependencies"])
    for extra in pp["optional-dependencies"].values():
        pip_deps += extra
    pip = dict(_name_bound(d) for d in pip_deps)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_name_bound(d) for d in env["dependencies"] if isinstance(d, str))
    conda.pop("pip", None)
    py = conda.pop("python")
    assert py == ">=" + pp["requires-python"].lstrip(">=")
    assert conda == pip


def test_readme_has_exactly_two_quick_start_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [
        ln.strip() for ln in block.splitlines()[1:] if ln.strip() and not ln.strip().startswith("#")
    ]
    assert commands == ["make report", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_makefile_builds_its_own_environment():
    mk = (ROOT / "Makefile").read_text()
    assert "-m venv" in mk and "pip install" in mk
    for target in ("report:", "test:"):
        assert re.search(rf"^{target} \$\(STAMP\)", mk, re.M), target


def test_make_help_is_the_default_and_lists_every_target():
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^\.DEFAULT_GOAL := help$", mk, re.M)
    phony = re.search(r"^\.PHONY: (.*)$", mk, re.M).group(1).split()
    assert {"help", "format", "lint", "bench", "test-fast"} <= set(phony)
    for target in phony:
        assert re.search(rf"^{target}:[^\n]*## \S", mk, re.M), f"make {target}: no '## text'"
    if shutil.which("make"):
        shown = subprocess.run(
            ["make", "-s", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        listed = {ln.split()[0] for ln in shown.splitlines() if ln.startswith("  ")}
        assert listed == set(phony)


def test_make_bench_runs_all_three_benchmarks():
    mk = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^bench:.*\n((?:\t.*\n)+)", mk, re.M).group(1)
    for script in ("metrics.py", "simulate.py", "scale.py"):
        assert f"benchmarks/{script}" in recipe, script
