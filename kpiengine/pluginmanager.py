"""Find, load and use plugins: the built-ins and those installed under the ``kpiengine``
entry-point group.

Each entry point loads on its own; one that fails to import or to answer a hook
is reported by name and version while the others keep working. Two plugins
providing the same name is a conflict: the name is unusable until one is removed.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy

from kpiengine import hookspecs
from kpiengine.errors import KpiError, PluginError, did_you_mean
from kpiengine.registry import FunctionDef, OutputFormat, SourceType

ENTRY_POINT_GROUP = "kpiengine"

#: Built-in plugins, registered exactly like third-party ones.
BUILTIN_PLUGINS = (
    "kpiengine.builtins.sources",
    "kpiengine.builtins.outputs",
    "kpiengine.builtins.database",
    "kpiengine.builtins.functions",
)

T = TypeVar("T", SourceType, OutputFormat, FunctionDef)


@dataclass
class PluginInfo:
    """What ``kpi plugins`` shows about one plugin."""

    name: str
    version: str
    distribution: str
    builtin: bool
    sources: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Plugins:
    """A typed view of the loaded plugins (calls through ``pm.hook`` are untyped)."""

    infos: list[PluginInfo]
    sources: dict[str, SourceType]
    outputs: dict[str, OutputFormat]
    functions: dict[str, FunctionDef]
    conflicts: dict[tuple[str, str], list[str]]

    def source_type(self, uri: str) -> SourceType:
        """The source type for a URI: by its scheme, else SQLAlchemy for ``x://`` URLs."""
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
        self._conflict("source", scheme)
        if scheme in self.sources:
            return self.sources[scheme]
        if "://" in uri and "sqlalchemy" in self.sources:
            return self.sources["sqlalchemy"]
        raise PluginError(
            f"no source type for `{uri.split(':', 1)[0]}:` URIs",
            hint=did_you_mean(scheme, self.sources)
            or "known: "
            + ", ".join(f"`{s}:`" for s in sorted(self.sources) if s != "sqlalchemy")
            + " and SQLAlchemy URLs such as `duckdb:///file.db`",
        )

    def output(self, name: str) -> OutputFormat:
        self._conflict("output", name)
        if name not in self.outputs:
            raise PluginError(
                f"unknown output format `{name}`",
                hint=did_you_mean(name, self.outputs)
                or "available: " + ", ".join(f"`{n}`" for n in sorted(self.outputs)),
            )
        return self.outputs[name]

    def _conflict(self, kind: str, name: str) -> None:
        owners = self.conflicts.get((kind, name))
        if owners:
            raise PluginError(
                f"{kind} `{name}` is provided by several plugins: " + ", ".join(owners),
                hint="uninstall all but one of them",
            )


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


@functools.cache
def default_plugins() -> Plugins:
    """The installed plugins, loaded once per process (for the Python API)."""
    return load_plugins()


def load_plugins(*, third_party: bool = True) -> Plugins:
    """Build a plugin manager (never at import time) and collect what the plugins provide."""
    pm = pluggy.PluginManager("kpiengine")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        infos[module_name] = PluginInfo(module_name, _own_version(), "kpiengine", True)
    if third_party:
        for ep in _entry_points():
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                ep.name,
                getattr(dist, "version", "?") or "?",
                getattr(dist, "name", "?") or "?",
                False,
            )
            infos[ep.name] = info
            try:
                plugin = ep.load()
                unknown = [
                    attr
                    for attr in dir(plugin)
                    if attr.startswith("kpi_") and not hasattr(hookspecs, attr)
                ]
                if unknown:
                    info.errors.append("implements unknown hooks: " + ", ".join(unknown))
                    continue
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the others
                info.errors.append(f"failed to load: {type(exc).__name__}: {exc}")
    plugins = Plugins(list(infos.values()), {}, {}, {}, {})
    _collect(pm, infos, "kpi_source_types", "source", "scheme", plugins.sources, plugins)
    _collect(pm, infos, "kpi_output_formats", "output", "name", plugins.outputs, plugins)
    _collect(pm, infos, "kpi_functions", "function", "name", plugins.functions, plugins)
    return plugins


def _collect(
    pm: pluggy.PluginManager,
    infos: dict[str, PluginInfo],
    hook_name: str,
    kind: str,
    key: str,
    target: dict[str, Any],
    plugins: Plugins,
) -> None:
    owners: dict[str, str] = {}
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():  # in registration order: built-ins first
        info = infos[impl.plugin_name]
        try:
            provided = list(impl.function() or [])
        except Exception as exc:
            info.errors.append(f"{hook_name}() failed: {type(exc).__name__}: {exc}")
            continue
        for item in provided:
            name = getattr(item, key)
            getattr(info, kind + "s").append(name)
            if name in owners:
                conflict = plugins.conflicts.setdefault((kind, name), [owners[name]])
                conflict.append(impl.plugin_name)
                info.errors.append(f"{kind} `{name}` is also provided by {owners[name]}")
                target.pop(name, None)  # unusable until one of them is removed
                continue
            owners[name] = impl.plugin_name
            target[name] = item if info.builtin else _guarded(item, kind, name, info)


def _guarded(item: Any, kind: str, name: str, info: PluginInfo) -> Any:
    """``item`` with its callables wrapped: an exception from a third-party plugin's code
    becomes a :class:`PluginError` naming the plugin, not an internal error of kpiengine.
    (A function's ``check`` may raise ValueError, its documented way to reject types.)"""
    who = f"{kind} `{name}` of plugin {info.name} {info.version} ({info.distribution})"

    def guard(call: Any, *, passes: tuple[type[Exception], ...] = ()) -> Any:
        allowed: tuple[type[Exception], ...] = (KpiError, *passes)

        def guarded(*args: Any) -> Any:
            from kpiengine.redact import redact_uri, scrub, secrets_in

            # A source's URI may hold a password or token: keep it out of any message.
            uri_secrets = secrets_in(args[0]) if kind == "source" and args else []
            try:
                return call(*args)
            except KpiError as exc:
                exc.message = scrub(exc.message, uri_secrets)
                exc.hint = scrub(exc.hint, uri_secrets) if exc.hint else exc.hint
                exc.args = (exc.message,)
                raise
            except allowed:
                raise
            except Exception as exc:
                detail = scrub(f"{type(exc).__name__}: {exc}", uri_secrets)
                raise PluginError(
                    f"{who} failed: {redact_uri(detail)}",
                    hint="this is a problem in the plugin; report it to its authors",
                ) from None

        return guarded

    if isinstance(item, SourceType):
        return dataclasses.replace(item, open=guard(item.open))
    if isinstance(item, OutputFormat):
        return dataclasses.replace(item, render=guard(item.render))
    if isinstance(item, FunctionDef):
        return dataclasses.replace(
            item, check=guard(item.check, passes=(ValueError,)), compile=guard(item.compile)
        )
    return item


def _own_version() -> str:
    from kpiengine import __version__

    return __version__
