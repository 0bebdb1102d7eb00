"""Warm Jupyter kernels for a report run: started first, ready when the results are.

A report's notebooks spend seconds starting a kernel and importing polars, Altair and
chatsim before their first line of analysis. :class:`KernelPool` starts its kernels as the
run begins and imports those modules in them (:data:`WARM_CODE`) while the run simulates
and evaluates the log; notebooks then run on whichever kernel is free, concurrently, one
kernel per core. A kernel that has run a notebook is cleared (``%reset -f``: the
notebook's names go, imported modules stay) before the next one, so a page never sees
another page's variables. ``KernelPool(0)`` is the plain way: one notebook at a time,
each on a fresh kernel of its own (the baseline of ``benchmarks/report.py``).

The pool's threads only wait on kernels (no Python work of theirs competes with the
run); its kernels are killed on :meth:`KernelPool.close` (also on Ctrl-C, SIGTERM,
SIGHUP, and when this process dies: a kernel exits when its parent does).

Example:
    >>> pool = KernelPool(1, cwd=Path("notebooks"))  # doctest: +SKIP
    >>> job = pool.submit("first", lambda km: km.is_alive())  # doctest: +SKIP
    >>> job.result(), pool.close()  # doctest: +SKIP
    (True, None)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

__all__ = [
    "ENGINE_NAME",
    "KERNEL_NAME",
    "RESET_CODE",
    "SKIPPED_IMPORTS",
    "SKIP_CODE",
    "WARM_CODE",
    "KernelPool",
    "default_kernels",
    "run_notebook",
    "skip_slow_optional_imports",
]

#: The kernel every report notebook runs on (the ipykernel of this Python).
KERNEL_NAME = "python3"
#: Optional modules a report process does without. ``rfc3987_syntax`` (installed with
#: JupyterLab, through ``jsonschema[format-nongpl]``) builds a parser grammar when
#: jsonschema imports it, about 1.3 s in every process importing Altair or nbformat, for
#: checking the "iri" string format, which no report validates.
SKIPPED_IMPORTS: tuple[str, ...] = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make :data:`SKIPPED_IMPORTS` unimportable in this process, as if not installed
    (jsonschema then leaves their format checks out). Only before jsonschema is imported;
    a report run calls it first thing, and so does each of its kernels.

    Example:
        >>> skip_slow_optional_imports()  # doctest: +SKIP
    """
    import sys

    if "jsonschema" not in sys.modules:
        for name in SKIPPED_IMPORTS:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]


#: Run in every kernel as it starts (also the unwarmed ones of ``KernelPool(0)``): the
#: :data:`SKIPPED_IMPORTS` made unimportable.
SKIP_CODE = (
    "import sys\n"
    f"for _name in {SKIPPED_IMPORTS!r} if 'jsonschema' not in sys.modules else ():\n"
    "    sys.modules.setdefault(_name, None)\n"
)
#: Run in a warm kernel as it starts: :data:`SKIP_CODE`, the modules every report notebook
#: imports, and the vega-embed bundle the first chart of a page shows (from this user's cache).
WARM_CODE = SKIP_CODE + (
    "import polars, altair, IPython.display\n"
    "import chatsim.analysis, chatsim.chart_data, chatsim.charts, chatsim.drilldown\n"
    "import chatsim.explain, chatsim.notebook, chatsim.render\n"
    "chatsim.render.bundle_html()\n"
)
#: Run in a kernel between two notebooks: the first notebook's names are removed.
RESET_CODE = "get_ipython().run_line_magic('reset', '-f')"


#: The papermill engine :func:`run_notebook` registers: nbclient's, on a given kernel.
ENGINE_NAME = "chatsim-kernel"


@functools.cache
def _register_engine() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class KernelEngine(NBClientEngine):
        """papermill's nbclient engine, closing its client's channels when done (the
        kernel, the pool's, stays)."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            **kwargs: Any,
        ) -> Any:
            for unused in ("input_path", "timeout", "startup_timeout"):
                kwargs.pop(unused, None)
            client = PapermillNotebookClient(
                nb_man,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    with contextlib.suppress(Exception):
                        client.kc.stop_channels()

    papermill_engines.register(ENGINE_NAME, KernelEngine)


def run_notebook(path: Path, params: dict[str, Any], *, km: Any, timeout: int | None) -> Any:
    """Execute the notebook at ``path`` with papermill on the kernel ``km`` (a pool's),
    ``params`` injected after its ``parameters`` cell; the executed notebook node (nothing
    is written). Raises papermill's ``PapermillExecutionError`` when a cell fails.

    Example:
        >>> pool.submit("x", lambda km: run_notebook(path, {}, km=km, timeout=60))  # doctest: +SKIP
    """
    import papermill as pm

    _register_engine()
    return pm.execute_notebook(
        str(path),
        None,
        parameters=params,
        engine_name=ENGINE_NAME,
        kernel_name=KERNEL_NAME,
        language="python",
        progress_bar=False,
        execution_timeout=timeout,
        request_save_on_cell_execute=False,
        km=km,
    )


def default_kernels(notebooks: int) -> int:
    """One kernel per core this process may use, never more than the notebooks.

    Example:
        >>> default_kernels(1)
        1
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(notebooks, cores))


class _Job:
    def __init__(self, name: str, fn: Callable[[Any], Any]) -> None:
        self.name, self.fn, self.future = name, fn, Future()


class KernelPool:
    """``size`` kernels, each in a thread that starts it, warms it with ``warm_code`` and
    then runs the jobs handed to :meth:`submit`, in order, on whichever kernel is free.

    A job is a function of the kernel's manager (``jupyter_client.KernelManager``; ``None``
    with ``size=0``, where each job starts a kernel of its own). ``on_start(name)`` is
    called as a job starts. ``warm_times`` holds each kernel's start-and-warm time (s).
    """

    def __init__(
        self,
        size: int,
        *,
        cwd: Path,
        warm_code: str = WARM_CODE,
        startup_timeout: float = 120.0,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.size = max(0, int(size))
        self.cwd = Path(cwd)
        self.warm_code = warm_code
        self.startup_timeout = startup_timeout
        self.on_start = on_start
        self.warm_times: list[float] = []
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._managers: dict[str, Any] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"chatsim-kernel-{i}", daemon=True)
            for i in range(max(1, self.size))
        ]
        for t in self._threads:
            t.start()

    # ------------------------------------------------------------------ public

    def submit(self, name: str, fn: Callable[[Any], Any]) -> Future:
        """Queue ``fn(kernel manager)``; its future holds the result or the error."""
        job = _Job(name, fn)
        self._jobs.put(job)
        return job.future

    def close(self, *, wait: float = 10.0) -> None:
        """Stop the pool: queued jobs are cancelled, kernels shut down (killed if a job is
        still running on them), threads joined for at most ``wait`` seconds."""
        self._closing.set()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
        for _ in self._threads:
            self._jobs.put(None)
        end = time.monotonic() + min(0.5, wait)
        for t in self._threads:  # an idle thread shuts its own kernel down at once
            t.join(max(0.0, end - time.monotonic()))
        with self._lock:
            busy = [km for name, km in self._managers.items() if self._alive(name)]
        for km in busy:  # a kernel still running a cell is killed
            _kill(km)
        end = time.monotonic() + wait
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))

    def _alive(self, thread_name: str) -> bool:
        return any(t.name == thread_name and t.is_alive() for t in self._threads)

    # ------------------------------------------------------------------ threads

    def _work(self) -> None:
        km = self._start_kernel(warm=True) if self.size else None
        fresh = True
        while True:
            job = self._jobs.get()
            if job is None or self._closing.is_set():
                if job is not None:
                    job.future.cancel()
                break
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                if km is None:  # size 0: a fresh kernel for each job
                    cold = self._start_kernel(warm=False)
                    try:
                        self._run(job, cold)
                    finally:
                        _shutdown(cold)
                    continue
                if not fresh:
                    _execute(km, RESET_CODE, self.startup_timeout)
                fresh = False
                self._run(job, km)
            except BaseException as exc:  # handed to the waiting thread
                if not job.future.done():
                    job.future.set_exception(exc)
        if km is not None:
            _shutdown(km)

    def _run(self, job: _Job, km: Any) -> None:
        if self.on_start is not None:
            self.on_start(job.name)
        job.future.set_result(job.fn(km))

    def _start_kernel(self, *, warm: bool) -> Any:
        """Start a kernel (in this thread's event loop) and import :attr:`warm_code` in it.
        Clients made from the returned manager are asynchronous, as nbclient wants them."""
        from jupyter_client.manager import KernelManager

        t0 = time.perf_counter()
        km = KernelManager(kernel_name=KERNEL_NAME)
        km.start_kernel(cwd=str(self.cwd))
        with self._lock:
            self._managers[threading.current_thread().name] = km
        if not self._closing.is_set():
            with contextlib.suppress(Exception):  # a failed import shows in the notebook itself
                _execute(km, self.warm_code if warm else SKIP_CODE, self.startup_timeout)
            with contextlib.suppress(Exception):  # the first notebook starts with no names
                _execute(km, RESET_CODE, self.startup_timeout)
            if warm:
                self.warm_times.append(time.perf_counter() - t0)
        km.client_class = "jupyter_client.asynchronous.AsyncKernelClient"
        return km


def _execute(km: Any, code: str, timeout: float) -> None:
    """Run ``code`` in the kernel quietly (no history), raising if it fails."""
    from jupyter_client.blocking import BlockingKernelClient

    kc = BlockingKernelClient(
        **km.get_connection_info(session=True), connection_file=km.connection_file, parent=km
    )
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        reply = kc.execute_interactive(
            code, silent=True, store_history=False, timeout=timeout, output_hook=lambda m: None
        )
    finally:
        kc.stop_channels()
    if reply["content"].get("status") != "ok":
        content = reply["content"]
        raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")


def _shutdown(km: Any) -> None:
    """Shut a kernel down now (no grace period); quiet if it is gone already."""
    with contextlib.suppress(Exception):
        km.shutdown_kernel(now=True)


def _kill(km: Any) -> None:
    """Kill a kernel this pool started, with the processes it started (it leads a session
    of its own), if it still runs; remove its connection file. Nothing else is signalled:
    a kernel process already waited for is left alone (its id may belong to another
    process by then)."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.kill()
    with contextlib.suppress(Exception):
        km.cleanup_connection_file()
