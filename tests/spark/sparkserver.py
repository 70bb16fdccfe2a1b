"""A throwaway Spark Thrift server in local mode, and CSV files loaded into it.

Used by the Spark tests (``tests/spark/conftest.py``) and by ``bench/spark.py``.
The server is the one shipped in the ``pyspark`` wheel's jars
(``org.apache.spark.sql.hive.thriftserver.HiveThriftServer2``), started with
``spark-submit --master local[2]``, bound to 127.0.0.1 on a free port, with its
warehouse, Derby metastore and logs in a temporary directory. It needs Java 17
(``java`` on PATH or ``JAVA_HOME``). SQLAlchemy reaches it as
``hive://127.0.0.1:PORT/default`` through PyHive.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


class SparkUnavailable(RuntimeError):
    """pyspark, PyHive or Java is missing: the server cannot be started here."""


def in_ci() -> bool:
    """``CI`` is set: a test that cannot run must fail, not be skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_requirements() -> str | None:
    """Why a Spark Thrift server cannot run here, or None when it can."""
    for module, package in (("pyspark", "pyspark"), ("pyhive", "pyhive"), ("thrift", "thrift")):
        try:
            __import__(module)
        except ImportError:
            return f"`{package}` is not installed (tox -e spark installs it)"
    if not _java():
        return "no `java` on PATH or in JAVA_HOME (Spark needs Java 17)"
    return None


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThriftServer:
    """``with ThriftServer() as server: server.url`` — started on entry, stopped on exit."""

    def __init__(self, *, driver_memory: str = "2g", shuffle_partitions: int | None = None) -> None:
        self.driver_memory = driver_memory
        self.shuffle_partitions = shuffle_partitions
        self.root = Path(tempfile.mkdtemp(prefix="kpiengine-spark-"))
        self.log = self.root / "server.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"hive://127.0.0.1:{self.port}/default"

    def __enter__(self) -> ThriftServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def command(self) -> list[str]:
        import pyspark

        home = Path(pyspark.__file__).resolve().parent
        submit = home / "bin" / "spark-submit"
        java_options = f"-Dderby.system.home={self.root} -Duser.timezone=UTC"
        conf = {
            "spark.ui.enabled": "false",  # no web UI (it would listen on every interface)
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.warehouse.dir": str(self.root / "warehouse"),
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.extraJavaOptions": java_options,
        }
        if self.shuffle_partitions:
            conf["spark.sql.shuffle.partitions"] = str(self.shuffle_partitions)
        metastore = f"jdbc:derby:;databaseName={self.root / 'metastore_db'};create=true"
        hiveconf = {
            "hive.server2.thrift.bind.host": "127.0.0.1",
            "hive.server2.thrift.port": str(self.port),
            "javax.jdo.option.ConnectionURL": metastore,
        }
        argv = ["bash", str(submit), "--class"]
        argv += ["org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"]
        argv += ["--master", "local[2]", "--driver-memory", self.driver_memory]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        for key, value in hiveconf.items():
            argv += ["--hiveconf", f"{key}={value}"]
        return argv

    def start(self, timeout: float = 300) -> str:
        """Start the server and wait until it answers a query; its URL."""
        why = missing_requirements()
        if why:
            raise SparkUnavailable(why)
        import pyspark

        self.port = _free_port()
        env = dict(os.environ)
        env["SPARK_HOME"] = str(Path(pyspark.__file__).resolve().parent)
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
        env.pop("SPARK_CONF_DIR", None)
        java = _java()
        if java and "JAVA_HOME" not in env:
            env["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command(),
                cwd=self.root,  # derby.log and any stray metastore files land here
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        self._wait(timeout)
        return self.url

    def _wait(self, timeout: float) -> None:
        import sqlalchemy as sa

        deadline = time.monotonic() + timeout
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            while True:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"the Spark Thrift server exited ({self._proc.returncode}):\n"
                        + self.log_tail()
                    )
                if self._listening():
                    try:
                        with engine.connect() as conn:
                            conn.exec_driver_sql("SELECT 1").fetchall()
                        return
                    except Exception:  # not ready yet: keep polling until the deadline
                        if time.monotonic() > deadline:
                            raise
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Spark Thrift server did not answer in {timeout:.0f} s:\n"
                        + self.log_tail()
                    )
                time.sleep(0.5)
        finally:
            engine.dispose()

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


# -- loading CSV files -------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def column_types(path: Path) -> dict[str, str]:
    """Spark SQL types of a CSV file's columns, from their values (DATE, TIMESTAMP,
    BOOLEAN, BIGINT, DOUBLE, else STRING; an empty cell is null, an empty column
    STRING), as DuckDB's CSV reader would type them."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        values: list[list[str]] = [[] for _ in header]
        for row in reader:
            for i, cell in enumerate(row[: len(header)]):
                if cell != "":
                    values[i].append(cell)
    return {name: _spark_type(cells) for name, cells in zip(header, values, strict=True)}


def _spark_type(cells: list[str]) -> str:
    def every(test: Any) -> bool:
        return all(test(c) for c in cells)

    if not cells:  # no value at all: text, as DuckDB's CSV reader has it
        return "STRING"
    if every(_DATE.match):
        return "DATE"
    if every(_TIMESTAMP.match):
        return "TIMESTAMP"
    if every(lambda c: c.lower() in ("true", "false")):
        return "BOOLEAN"
    if every(_is_int) and all(-(2**63) <= int(c) < 2**63 for c in cells):
        return "BIGINT"
    if every(_is_float):
        return "DOUBLE"
    return "STRING"


def _is_int(text: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", text.strip()) is not None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table_name(path: Path) -> str:
    """The table a CSV file becomes: its stem, as the ``csv:`` source names it."""
    return re.sub(r"[^A-Za-z0-9_]", "_", path.stem)


def load_csvs(url: str, files: list[Path]) -> dict[str, dict[str, str]]:
    """One Spark table per CSV file, named after the file's stem, reading the file in
    place (``CREATE TABLE … USING csv``); the tables and their column types.

    Identifiers are quoted by the dialect; the file path is a bound parameter.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    quote = engine.dialect.identifier_preparer.quote_identifier
    tables: dict[str, dict[str, str]] = {}
    try:
        with engine.connect() as conn:
            for path in files:
                name = table_name(path)
                types = column_types(path)
                columns = ", ".join(f"{quote(c)} {t}" for c, t in types.items())
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)}")
                conn.exec_driver_sql(
                    f"CREATE TABLE {quote(name)} ({columns}) USING csv OPTIONS ("
                    "path %(path)s, header 'true', escape '\"', multiLine 'true', "
                    "mode 'FAILFAST', dateFormat 'yyyy-MM-dd')",
                    {"path": str(path.resolve())},
                )
                tables[name] = types
    finally:
        engine.dispose()
    return tables
