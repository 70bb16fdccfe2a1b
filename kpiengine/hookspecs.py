"""The hooks a kpiengine plugin can implement.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names
are among the specs below. Third-party plugins are found through the
``kpiengine`` entry-point group; the built-in sources, outputs and functions are
registered the same way from an explicit list (see :mod:`kpiengine.pluginmanager`).
"""

from __future__ import annotations

import pluggy

from kpiengine.registry import FunctionDef, OutputFormat, SourceType

hookspec = pluggy.HookspecMarker("kpiengine")


@hookspec
def kpi_source_types() -> list[SourceType]:
    """Return the source types this plugin provides.

    Each :class:`~kpiengine.registry.SourceType` claims a URI scheme (``csv`` for
    ``csv:PATH``). Two plugins claiming the same scheme is an error.
    """
    return []


@hookspec
def kpi_output_formats() -> list[OutputFormat]:
    """Return the output formats this plugin provides (``--format NAME``).

    Two plugins providing the same name is an error.
    """
    return []


@hookspec
def kpi_functions() -> list[FunctionDef]:
    """Return the expression functions this plugin provides (``abs(x)``, …).

    Two plugins providing the same function name is an error.
    """
    return []
