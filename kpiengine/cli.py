"""The ``kpi`` command line.

Exit codes: 0 done; 1 rule findings at or above ``--fail-on``; 2 user error
(bad spec, bad input, unreachable source); 3 internal error. Heavy modules are
imported inside the commands so that ``kpi --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from kpiengine.engine import Request
    from kpiengine.spec import Spec


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1
    USER_ERROR = 2
    INTERNAL_ERROR = 3
    #: The reader of stdout or stderr went away before all was written (`kpi … | head`):
    #: the status a shell gives a command that a closed pipe stops (128 + SIGPIPE).
    CLOSED_PIPE = 141


app = typer.Typer(
    name="kpi",
    help="Define KPIs once in YAML, compile them to SQL, run them where the data lives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # never print locals (they can hold secrets)
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SpecArg = Annotated[
    list[Path],
    typer.Argument(help="Spec file(s) or directories of them.", show_default=False, metavar="SPEC"),
]
SourceOpt = Annotated[
    list[str] | None,
    typer.Option("--source", "-s", metavar="NAME=URI", help="Rebind a spec source to a URI."),
]
GrainOpt = Annotated[
    str,
    typer.Option("--grain", "-g", help="day, week (from Monday), month, quarter, year or total."),
]
ByOpt = Annotated[
    list[str] | None, typer.Option("--by", "-b", metavar="DIM", help="Break down by a dimension.")
]
FromOpt = Annotated[
    str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="First day (inclusive).")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Last day (inclusive).")
]
WhereOpt = Annotated[
    str | None,
    typer.Option("--where", "-w", metavar="EXPR", help="Row filter, e.g. \"campaign = 'Spring'\"."),
]
KpiOpt = Annotated[
    list[str] | None,
    typer.Option("--kpi", "-k", metavar="NAME", help="Only this KPI (repeatable)."),
]


def _fail(message: str) -> NoReturn:
    from kpiengine.errors import RequestError

    raise RequestError(message)


def _request(
    source: list[str] | None,
    grain: str,
    by: list[str] | None,
    date_from: str | None,
    date_to: str | None,
    where: str | None,
    kpi: list[str] | None,
    compare: str | None = None,
) -> Request:
    from kpiengine.engine import Request

    sources = _pairs(source, "--source", "NAME=URI")
    return Request(
        grain=grain,
        by=tuple(by or ()),
        date_from=date_from,
        date_to=date_to,
        where=where,
        kpis=tuple(kpi or ()),
        sources=sources,
        compare=compare,
    )


def _pairs(items: list[str] | None, option: str, shape: str = "KEY=VALUE") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            from kpiengine.redact import redact_uri

            _fail(f"{option} wants {shape}, got `{redact_uri(item)}`")  # it may hold a URI
        out[key.strip()] = value.strip()
    return out


def _load(paths: list[Path]) -> Spec:
    from kpiengine.spec import load_spec

    return load_spec(*paths)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _progress() -> contextlib.AbstractContextManager[None]:
    """A progress display on stderr when it is a terminal; silence otherwise."""
    if not sys.stderr.isatty() or os.environ.get("KPI_NO_PROGRESS"):
        return contextlib.nullcontext()
    from kpiengine import progress

    return progress.reporting(progress.TerminalReporter())


def _note(message: str) -> None:
    typer.echo(f"note: {message}", err=True)


@app.command()
def run(
    spec: SpecArg,
    source: SourceOpt = None,
    grain: GrainOpt = "total",
    by: ByOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    where: WhereOpt = None,
    kpi: KpiOpt = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            "-c",
            metavar="previous|year",
            help="Add each KPI's earlier value and change: the period before, or a year before.",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table, json, csv, or a plugin's format.")
    ] = "table",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH|URL",
            help="Write to this file (atomically), or to this database with --format sql.",
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-O", metavar="KEY=VALUE", help="An option for the output format."
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="LEVEL",
            help="Exit 1 on findings at this level or above: info, warn or error.",
        ),
    ] = None,
) -> None:
    """Compute the KPIs and rule findings of a spec."""
    from kpiengine.engine import evaluate
    from kpiengine.pluginmanager import load_plugins
    from kpiengine.registry import OutputContext

    if fail_on is not None and fail_on not in ("info", "warn", "error"):
        _fail(f"--fail-on wants info, warn or error, got `{fail_on}`")
    plugins = load_plugins()
    output_format = plugins.output(fmt)
    request = _request(source, grain, by, date_from, date_to, where, kpi, compare)
    with _progress():
        result = evaluate(_load(spec), request, plugins=plugins)
    to_terminal = output is None and sys.stdout.isatty()
    ctx = OutputContext(
        color=to_terminal and _color(),
        width=os.get_terminal_size().columns if to_terminal else None,
        options=_pairs(option, "--option"),
    )
    if output_format.write is not None:
        if output is None:
            _fail(f"--format {fmt} writes to a target: give it with --output")
        _note(output_format.write(result, output, ctx))
    else:
        _emit(output_format.render(result, ctx), output)
    for notice in result.notices:
        _note(notice)
    if fail_on is not None:
        from kpiengine.result import LEVELS

        worst = result.worst_level()
        if worst is not None and LEVELS.index(worst) >= LEVELS.index(fail_on):
            raise typer.Exit(ExitCode.FINDINGS)


def _emit(rendered: str | bytes, output: str | None) -> None:
    """Print the output, or write it to a file through a temporary file and a rename."""
    if output is not None:
        from kpiengine.files import write_atomic

        write_atomic(Path(output), rendered)
    elif isinstance(rendered, bytes):
        sys.stdout.buffer.write(rendered)
    else:
        sys.stdout.write(rendered)


@app.command()
def validate(spec: SpecArg) -> None:
    """Check specs: YAML, keys, expressions, names, types; every problem with file:line:col."""
    from kpiengine.engine import check, session

    loaded = _load(spec)
    with session(loaded) as sess:
        checked = check(sess)
    typer.echo(
        f"{loaded.name}: ok ({len(loaded.files)} files, {len(loaded.datasets)} datasets, "
        f"{len(checked.kpis)} KPIs, {len(checked.rules)} rules)"
    )


@app.command()
def explain(
    spec: SpecArg,
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect", "-d", help="Compile for this SQL dialect (duckdb, sqlite, postgresql, …)."
        ),
    ] = None,
    source: SourceOpt = None,
    grain: GrainOpt = "total",
    by: ByOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    where: WhereOpt = None,
    kpi: KpiOpt = None,
) -> None:
    """Show the SQL each table compiles to: one aggregate query per dataset."""
    import json

    from kpiengine.engine import explain as explain_spec

    request = _request(source, grain, by, date_from, date_to, where, kpi)
    notices: list[str] = []
    for query in explain_spec(_load(spec), request, dialect=dialect, notices=notices):
        typer.echo(f"-- table {query.table}: datasets {', '.join(query.datasets)}")
        typer.echo(query.sql.strip() + ";")
        if query.params:
            typer.echo("-- parameters: " + json.dumps(query.params, default=str))
        typer.echo()
    for notice in notices:
        _note(notice)


@app.command(name="list")
def list_kpis(
    spec: SpecArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List the KPIs of a spec: name, category, label, expression."""
    import json

    loaded = _load(spec)
    rows = [
        {
            "name": k.name,
            "category": k.category,
            "label": k.label,
            "format": k.format,
            "direction": k.direction,
            "expression": k.expr.text,
            "description": k.description,
        }
        for k in loaded.kpis.values()
    ]
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if fmt != "text":
        _fail(f"--format wants text or json, got `{fmt}`")
    _print_columns(rows, ["name", "category", "label", "expression"])


@app.command()
def plugins(
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List installed plugins, what each provides, and load errors."""
    import dataclasses
    import json

    from kpiengine.pluginmanager import load_plugins

    loaded = load_plugins()
    if fmt == "json":
        typer.echo(json.dumps([dataclasses.asdict(i) for i in loaded.infos], indent=2))
        return
    if fmt != "text":
        _fail(f"--format wants text or json, got `{fmt}`")
    for info in loaded.infos:
        kind = "built-in" if info.builtin else f"{info.distribution} {info.version}"
        typer.echo(f"{info.name} ({kind})")
        for what, names in (
            ("sources", info.sources),
            ("outputs", info.outputs),
            ("functions", info.functions),
        ):
            if names:
                typer.echo(f"  {what}: {', '.join(names)}")
        for error in info.errors:
            typer.echo(f"  ERROR: {error}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of spec files (for editors such as yaml-language-server)."""
    import json

    from kpiengine.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def _print_columns(rows: list[dict[str, Any]], keys: list[str]) -> None:
    widths = {k: max([len(k), *(len(str(r[k])) for r in rows)]) for k in keys[:-1]}
    typer.echo("  ".join(k.upper().ljust(widths.get(k, 0)) for k in keys).rstrip())
    for row in rows:
        typer.echo("  ".join(str(row[k]).ljust(widths.get(k, 0)) for k in keys).rstrip())


def entry() -> NoReturn:
    """The ``kpi`` command (the console script and ``python -m kpiengine``): :func:`main`,
    then the process ends without the interpreter's teardown (see :func:`_leave`)."""
    try:
        main()
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """Exit with ``code`` once the output is flushed and the exit handlers have run.

    Skips the interpreter's teardown: freeing the modules and objects of SQLAlchemy,
    pydantic, DuckDB and the rest one by one took 0.1-0.3 s of every `kpi run`, for
    memory the system takes back at once. Everything kpiengine opens is closed and
    every file it writes is complete before this point; a normal exit is used when it
    might not be (other threads still running, an exit message). Output that cannot be
    flushed gives status 120, as the interpreter's own exit does.
    """
    import atexit
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if code is None:
        code = 0
    if not isinstance(code, int) or threading.active_count() > 1 or run_exit_handlers is None:
        sys.exit(code)  # type: ignore[arg-type]  # what SystemExit carried
    code = int(code)  # ExitCode members too
    run_exit_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = ExitCode.CLOSED_PIPE
    except (OSError, ValueError):
        code = 120  # what the interpreter exits with when it cannot flush at exit
    os._exit(code)


def _output_closed() -> bool:
    """Whether stdout or stderr was found closed under the command: typer (as click does)
    then exits 1, with both streams wrapped so that nothing more is written to them."""
    return any(type(s).__name__ == "PacifyFlushWrapper" for s in (sys.stdout, sys.stderr))


def main() -> None:
    """Entry point: run the app, turning user errors into a message and exit code 2."""
    from kpiengine.errors import KpiError

    # A short process that builds many objects and frees few: the cyclic collector's
    # default pace (every 700 allocations) cost 40-70 ms of a run or a large explain,
    # for cycles that die with the process anyway. Collect less often (and put the
    # default back for callers that run main() in their own process, such as tests).
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        app()
    except SystemExit as exc:
        if exc.code == 1 and _output_closed():
            sys.exit(ExitCode.CLOSED_PIPE)  # not 1, which says there are findings
        raise
    except KpiError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(ExitCode.USER_ERROR)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("KPI_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in kpiengine; set KPI_DEBUG=1 to see the traceback.",
            err=True,
        )
        sys.exit(ExitCode.INTERNAL_ERROR)
    finally:
        gc.set_threshold(*threshold)
