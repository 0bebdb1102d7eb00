"""Warm kernels for a report run: concurrent, cleared between notebooks, stopped on close."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from chatsim.report_kernels import KernelPool, default_kernels, run_notebook


def _notebook(folder: Path, name: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}}
    )
    params = nbformat.v4.new_code_cell("tag = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _run(path: Path, **params):
    return lambda km: run_notebook(path, params, km=km, timeout=600)


def _stdout(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_notebooks_on_one_kernel_never_see_each_others_names(tmp_path: Path) -> None:
    first = _notebook(tmp_path, "first", "left_behind = 1", "import os; print(os.getpid())")
    second = _notebook(
        tmp_path,
        "second",
        "print('left_behind' in globals(), 'polars' in __import__('sys').modules)",
        "import os; print(os.getpid())",
    )
    started: list[str] = []
    pool = KernelPool(1, cwd=tmp_path, on_start=started.append)
    try:
        a = pool.submit("first", _run(first)).result(timeout=300)
        b = pool.submit("second", _run(second)).result(timeout=300)
    finally:
        pool.close()
    pid_a, (seen, warmed, pid_b) = _stdout(a).split()[-1], _stdout(b).split()
    assert pid_a == pid_b  # the same kernel ...
    assert seen == "False"  # ... cleared between the two notebooks
    assert warmed == "True"  # ... and warmed before the first (polars imported)
    assert started == ["first", "second"] and len(pool.warm_times) == 1


def test_kernels_run_notebooks_at_the_same_time(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path, "sleepy", "import time; t0 = time.time(); time.sleep(3); print(t0, time.time())"
    )
    pool = KernelPool(2, cwd=tmp_path)
    try:
        jobs = [pool.submit(f"n{i}", _run(nb, tag=str(i))) for i in range(2)]
        spans = [tuple(map(float, _stdout(j.result(timeout=300)).split())) for j in jobs]
    finally:
        pool.close()
    (s1, e1), (s2, e2) = spans
    assert max(s1, s2) < min(e1, e2)  # the two notebooks overlapped


def test_size_zero_gives_each_notebook_a_fresh_kernel(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "pid", "import os, sys; print(os.getpid(), 'altair' in sys.modules)")
    pool = KernelPool(0, cwd=tmp_path)
    try:
        outs = [_stdout(pool.submit("p", _run(nb)).result(timeout=300)).split() for _ in range(2)]
    finally:
        pool.close()
    assert outs[0][0] != outs[1][0]
    assert outs[0][1] == outs[1][1] == "False"  # not warmed
    assert pool.warm_times == []


def test_close_stops_a_running_notebook_and_cancels_the_queue(tmp_path: Path) -> None:
    nb = _notebook(tmp_path, "forever", "import time; time.sleep(600)")
    pool = KernelPool(1, cwd=tmp_path)
    running = pool.submit("forever", _run(nb))
    queued = pool.submit("next", _run(nb))
    end = time.monotonic() + 120
    while not running.running() and time.monotonic() < end:
        time.sleep(0.1)
    time.sleep(2)  # inside the sleeping cell
    t0 = time.monotonic()
    pool.close(wait=5)
    assert time.monotonic() - t0 < 15
    assert queued.cancelled()
    with pytest.raises(Exception):  # noqa: B017 - whatever the kernel's death raises
        running.result(timeout=60)


def test_default_is_one_kernel_per_core_at_most_one_per_notebook() -> None:
    assert default_kernels(1) == 1
    assert 1 <= default_kernels(10) <= 10
