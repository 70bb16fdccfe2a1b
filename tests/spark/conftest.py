"""Fixtures of the Spark tests: one Spark Thrift server for the session, with the sample
TikTok data loaded.

These tests run in tox's ``spark`` env (``tox -e spark``), which installs pyspark and
PyHive; the default env leaves this folder out (``--ignore=tests/spark``). Without
pyspark, PyHive or Java they are skipped, except when ``CI`` is set: there that is a
failure, never a silent skip.

``spark_url`` is ``hive://127.0.0.1:PORT/default`` of a server started here (see
``sparkserver.py``) holding one table per CSV file of ``specs/tiktok/data`` (whatever
files are there when the session starts). Set ``KPI_TEST_SPARK_URL`` to use a running
server instead; the tables are then (re)created in its ``default`` database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sparkserver import SparkUnavailable, ThriftServer, in_ci, load_csvs, missing_requirements

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "specs" / "tiktok" / "data"

_TIMINGS: dict[str, float] = {}


def _unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"Spark is required in CI (CI is set): {reason}", pytrace=False)
    pytest.skip(f"Spark not available: {reason}")


@pytest.fixture(scope="session")
def spark_server_url() -> Iterator[str]:
    """The URL of a Spark Thrift server for this session (started here unless given)."""
    given = os.environ.get("KPI_TEST_SPARK_URL")
    if given:
        yield given
        return
    why = missing_requirements()
    if why:
        _unavailable(why)
    server = ThriftServer(shuffle_partitions=4)
    started = time.monotonic()
    try:
        server.start()
    except SparkUnavailable as exc:
        server.stop()
        _unavailable(str(exc))
    except Exception as exc:
        tail = server.log_tail()
        server.stop()
        pytest.fail(f"the Spark Thrift server did not start: {exc}\n{tail}", pytrace=False)
    _TIMINGS["server start"] = time.monotonic() - started
    try:
        yield server.url
    finally:
        stopped = time.monotonic()
        server.stop()
        _TIMINGS["server stop"] = time.monotonic() - stopped


@pytest.fixture(scope="session")
def spark_url(spark_server_url: str) -> str:
    """The server's URL, with every sample CSV loaded as a table named after its stem."""
    started = time.monotonic()
    files = sorted(DATA.glob("*.csv"))
    assert files, f"no CSV files in {DATA}"
    load_csvs(spark_server_url, files)
    _TIMINGS["loading the sample CSVs"] = time.monotonic() - started
    return spark_server_url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        terminalreporter.write_sep("-", "Spark Thrift server")
        for what, seconds in _TIMINGS.items():
            terminalreporter.write_line(f"{what}: {seconds:.1f} s")
