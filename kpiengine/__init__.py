"""kpiengine: define KPIs once in YAML, compile them to SQL, run them where the data lives.

The public API::

    import kpiengine
    spec = kpiengine.load_spec("specs/tiktok")
    result = kpiengine.evaluate(spec, kpiengine.Request(grain="week", by=["campaign"]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("kpiengine")

if TYPE_CHECKING:
    from kpiengine.engine import Request, evaluate, explain
    from kpiengine.errors import KpiError
    from kpiengine.result import Result
    from kpiengine.spec import Spec, load_spec

__all__ = [
    "KpiError",
    "Request",
    "Result",
    "Spec",
    "__version__",
    "evaluate",
    "explain",
    "hookimpl",
    "load_spec",
]

_LAZY = {
    "Request": "kpiengine.engine",
    "evaluate": "kpiengine.engine",
    "explain": "kpiengine.engine",
    "KpiError": "kpiengine.errors",
    "Result": "kpiengine.result",
    "Spec": "kpiengine.spec",
    "load_spec": "kpiengine.spec",
}


def __getattr__(name: str) -> Any:
    # Imported on first use so that `import kpiengine` (and `kpi --help`) stays cheap.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kpiengine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
