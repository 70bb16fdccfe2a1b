"""The ``sql`` output: result tables written to any SQLAlchemy database, for dashboards.

``kpi run SPEC --format sql --output postgresql+psycopg://…/dash`` writes three
tables (created when missing), in one transaction, so a dashboard never sees half
a run:

- ``<prefix>runs``: one row per run with its parameters (spec, grain, range, …);
- ``<prefix>values``: one row per KPI value (run, table, period, dimensions, KPI, value);
- ``<prefix>findings``: one row per rule finding.

Options (``-O KEY=VALUE``): ``mode=replace`` (default: the spec's earlier runs are
deleted first) or ``mode=append``; ``prefix=kpi_`` (the table names' prefix).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from kpiengine import __version__, hookimpl
from kpiengine.errors import KpiError, SourceError
from kpiengine.redact import redact_uri, scrub, secrets_in
from kpiengine.registry import OutputContext, OutputFormat

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kpiengine.result import Result

MODES = ("replace", "append")


def _tables(prefix: str) -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    import sqlalchemy as sa

    meta = sa.MetaData()
    runs = sa.Table(
        f"{prefix}runs",
        meta,
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("grain", sa.String(10), nullable=False),
        sa.Column("date_from", sa.Date()),
        sa.Column("date_to", sa.Date()),
        sa.Column("compare", sa.String(10)),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("kpiengine_version", sa.String(20), nullable=False),
    )
    values = sa.Table(
        f"{prefix}values",
        meta,
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("period", sa.Date()),
        sa.Column("dimensions", sa.Text(), nullable=False),
        sa.Column("kpi", sa.String(200), nullable=False),
        sa.Column("label", sa.String(400), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("value", sa.Double()),
    )
    findings = sa.Table(
        f"{prefix}findings",
        meta,
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("spec", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("kpi", sa.String(200), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("period", sa.Date()),
        sa.Column("dimensions", sa.Text(), nullable=False),
        sa.Column("value", sa.Double()),
    )
    return meta, runs, values, findings


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _number(value: Any) -> float | None:
    # A flag (a ranking's too_small) is stored as 1 or 0, so that a dashboard can filter on it.
    if isinstance(value, int | float):
        return float(value)
    return None


def _dims(row: dict[str, Any], names: list[str]) -> str:
    return json.dumps({d: row.get(d) for d in names}, ensure_ascii=False, sort_keys=True)


def write(result: Result, target: str, ctx: OutputContext) -> str:
    """Write the result's tables and findings to the database at ``target``."""
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
    from sqlalchemy.schema import CreateTable

    mode = ctx.options.get("mode", "replace")
    prefix = ctx.options.get("prefix", "kpi_")
    unknown = set(ctx.options) - {"mode", "prefix"}
    if unknown:
        raise KpiError(f"--format sql: unknown option `{sorted(unknown)[0]}` (known: mode, prefix)")
    if mode not in MODES:
        raise KpiError(f"--format sql: mode must be replace or append, not `{mode}`")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,30}", prefix):
        raise KpiError(f"--format sql: prefix `{prefix}` must be letters, digits and `_`")
    shown, secrets = redact_uri(target), secrets_in(target)
    try:
        engine = sa.create_engine(target)
    except (ArgumentError, NoSuchModuleError, ImportError):
        raise KpiError(
            f"--format sql: `{shown}` is not a database URL kpiengine can open"
        ) from None
    _, runs, values, findings = _tables(prefix)
    run_id = str(uuid.uuid4())
    parameters = {
        "grain": result.grain,
        "from": result.date_from,
        "to": result.date_to,
        "compare": result.compare,
        **result.parameters,
        "tables": [t.name for t in result.tables],
    }
    value_rows = [
        {
            "run_id": run_id,
            "spec": result.spec,
            "table_name": table.name,
            "category": table.category,
            "period": _date(row.get("period")),
            "dimensions": _dims(row, table.dimensions),
            "kpi": info.name,
            "label": info.label,
            "format": info.format,
            "value": _number(row.get(info.name)),
        }
        for table in result.tables
        for row in table.rows
        for info in table.kpis
    ]
    finding_rows = [
        {
            "run_id": run_id,
            "spec": result.spec,
            "rule": f.rule,
            "kpi": f.kpi,
            "level": f.level,
            "message": f.message,
            "period": _date(f.period),
            "dimensions": json.dumps(f.dimensions, ensure_ascii=False, sort_keys=True),
            "value": _number(f.value),
        }
        for f in result.findings
    ]
    try:
        with engine.begin() as conn:  # one transaction: all of the run or nothing
            for table in (runs, values, findings):
                conn.execute(CreateTable(table, if_not_exists=True))
            if mode == "replace":
                for table in (findings, values, runs):
                    conn.execute(table.delete().where(table.c.spec == result.spec))
            conn.execute(
                runs.insert(),
                {
                    "run_id": run_id,
                    "spec": result.spec,
                    "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    "grain": result.grain,
                    "date_from": _date(result.date_from),
                    "date_to": _date(result.date_to),
                    "compare": result.compare,
                    "parameters": json.dumps(parameters, ensure_ascii=False),
                    "kpiengine_version": __version__,
                },
            )
            if value_rows:
                conn.execute(values.insert(), value_rows)
            if finding_rows:
                conn.execute(findings.insert(), finding_rows)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        text = scrub(detail[0] if detail else type(exc).__name__, secrets)
        raise SourceError(f"writing results to {shown} failed: {text}") from None
    finally:
        engine.dispose()
    return (
        f"wrote run {run_id} to {shown}: {len(value_rows)} values, {len(finding_rows)} findings "
        f"({mode})"
    )


def _render(result: Result, ctx: OutputContext) -> str:
    raise KpiError("--format sql writes to a database: give its URL with --output")


@hookimpl
def kpi_output_formats() -> list[OutputFormat]:
    return [
        OutputFormat(
            "sql",
            "Write runs, values and findings to a database (--output URL) in one transaction.",
            _render,
            write=write,
        )
    ]
