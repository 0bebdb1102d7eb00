"""Code the tests (and the benchmarks) use that is not part of the chatsim package.

* :mod:`tests.support.synthetic`: a fast generator of large synthetic chat logs;
* :mod:`tests.support.pandas_reference`: chatsim's definitions written again in plain
  pandas, the reference the shop tables are checked against and the benchmark baseline;
* :mod:`tests.support.demo_report`: a tiny two-chart report notebook;
* :mod:`tests.support.browser`: opens a rendered report in headless Chromium, offline.

The benchmarks (``benchmarks/*.py``) put the repository root on ``sys.path`` and import
from here too, so each of these exists once.
"""
