"""Secrets stay secret: a password or token in a source URI never shows in an error,
a notice, a log record, `kpi explain`, or any report (json, csv, table, markdown, html).

The throwaway PostgreSQL server trusts local connections, so a URI with a password
connects: the password is then carried everywhere a real one would be.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

PASSWORD = "Pw0rd-Secret-41"
SSL_PASSWORD = "SslSecret-77"
SECRETS = (PASSWORD, SSL_PASSWORD)


def _with_secrets(url: str) -> str:
    """``url`` with a password and a secret query parameter added."""
    parsed = sa.make_url(url)
    parsed = parsed.set(password=PASSWORD, query={**parsed.query, "sslpassword": SSL_PASSWORD})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def secret_url(postgres_db: str) -> str:
    engine = sa.create_engine(postgres_db)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE ads (day DATE, campaign TEXT, clicks BIGINT)"))
        conn.execute(
            sa.text(
                "INSERT INTO ads VALUES ('2024-01-01', 'a', 3), ('2024-01-02', 'b', 4),"
                " ('2024-01-09', 'a', 5)"
            )
        )
    engine.dispose()
    url = _with_secrets(postgres_db)
    assert PASSWORD in url
    assert SSL_PASSWORD in url
    return url


SPEC = """\
sources:
  db: {url}
datasets:
  ads: {{source: db, table: {table}, time: day, dimensions: [campaign]}}
kpis:
  clicks:
    expr: sum(clicks)
    rules:
      - {{when: clicks > 3, level: warn, message: "many clicks in {{row}}"}}
  other_db: sum(clicks) / 2
"""


def _spec(tmp_path: Path, url: str, table: str = "ads") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(url=url, table=table), encoding="utf-8")
    return path


def _run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``kpi ARGS`` in this process; the exit code and everything it printed."""
    from kpiengine.cli import main

    monkeypatch.setattr(sys, "argv", ["kpi", *args])
    monkeypatch.delenv("KPI_DEBUG", raising=False)
    capsys.readouterr()
    code: Any = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return int(code or 0), out + err


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked:\n{text}"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every library (SQLAlchemy, psycopg, DuckDB, ...) at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "markdown", "html"])
def test_reports_and_notices_hold_no_secret(
    secret_url: str, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], all_logs: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from kpiengine.pluginmanager import load_plugins

    if fmt not in load_plugins().outputs:
        pytest.skip(f"no `{fmt}` output plugin installed")
    spec = _spec(tmp_path, secret_url)
    out = tmp_path / f"report.{fmt}"
    code, printed = _run(
        ["run", str(spec), "--grain", "week", "--by", "campaign", "--format", fmt,
         "--output", str(out), "--where", "campaign != 'zzz'", "--compare", "previous",
         "--from", "2024-01-01", "--to", "2024-01-14"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0, printed
    report = out.read_text(encoding="utf-8")
    assert "campaign" in report  # the report was written
    _no_secret(report)
    _no_secret(printed)
    _no_secret(all_logs.text)


def test_explain_holds_no_secret(
    secret_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], all_logs: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    spec = _spec(tmp_path, secret_url)
    for extra in ([], ["--dialect", "postgresql"], ["--source", f"db={secret_url}"]):
        code, printed = _run(["explain", str(spec), *extra], monkeypatch, capsys)
        assert code == 0, printed
        assert "SELECT" in printed
        _no_secret(printed)
    _no_secret(all_logs.text)


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        ("missing table", "reading table `nosuch`"),
        ("refused connection", "failed: connection failed"),
        ("unknown database", "failed:"),
        ("bad option", "--source names unknown source"),
        ("unknown dialect", "no SQLAlchemy dialect"),
    ],
)
def test_errors_hold_no_secret(
    secret_url: str, tmp_path: Path, how: str, needle: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], all_logs: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    url = sa.make_url(secret_url)
    args: list[str] = []
    table = "ads"
    if how == "missing table":
        table = "nosuch"
    elif how == "refused connection":
        url = url.set(port=9)
    elif how == "unknown database":
        url = url.set(database="no_such_db")
    elif how == "bad option":
        args = ["--source", secret_url]  # NAME= forgotten
    elif how == "unknown dialect":
        url = url.set(drivername="nosuchdb")
    shown = url.render_as_string(hide_password=False)
    spec = _spec(tmp_path, shown, table)
    commands = [["run"], ["explain"], ["run", "--source", f"db={shown}"]]
    if how != "bad option":
        commands.append(["validate"])  # it opens the source to discover the columns
    for command in commands:
        code, printed = _run([*command, str(spec), *args], monkeypatch, capsys)
        assert code == 2, printed
        assert needle in printed, printed
        assert "***" in printed or how == "bad option", printed
        _no_secret(printed)
    _no_secret(all_logs.text)


def test_the_python_api_redacts_too(secret_url: str, tmp_path: Path) -> None:
    """Error messages (``str(error)``) and the result's record of its sources."""
    from kpiengine.engine import Request, evaluate
    from kpiengine.errors import KpiError
    from kpiengine.spec import load_spec

    spec = load_spec(_spec(tmp_path, secret_url))
    result = evaluate(spec, Request(sources={"db": secret_url}))
    _no_secret(repr(result.to_dict()))
    broken = sa.make_url(secret_url).set(port=9).render_as_string(hide_password=False)
    with pytest.raises(KpiError) as info:
        evaluate(spec, Request(sources={"db": broken}))
    _no_secret(str(info.value))
    _no_secret(repr(info.value.args))


def test_a_token_in_a_tiktok_uri_is_refused_unshown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("kpiengine_tiktok", reason="the kpiengine-tiktok plugin is not installed")
    root = Path(__file__).resolve().parents[1]
    token = "tok-" + PASSWORD
    code, printed = _run(
        ["run", str(root / "specs" / "tiktok"), "--source",
         f"paid=tiktok-api:advertiser=123&access_token={token}"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 2, printed
    assert token not in printed
