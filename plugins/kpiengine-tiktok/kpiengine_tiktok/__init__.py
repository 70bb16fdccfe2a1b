"""TikTok sources for kpiengine: ``tiktok-studio:``, ``tiktok-ads:`` and ``tiktok-api:``.

Each reads TikTok's own formats (the Studio analytics export, the Ads Manager report
export, the Marketing and Business API responses) and exposes the same canonical
tables (:mod:`kpiengine_tiktok.canonical`) in an in-memory DuckDB, so that one KPI
catalogue (``specs/tiktok``) runs on any of them.
"""

from __future__ import annotations

from pathlib import Path

from kpiengine import hookimpl
from kpiengine.registry import Source, SourceType

__all__ = ["kpi_source_types"]


def _open_studio(uri: str, base_dir: Path) -> Source:
    from kpiengine_tiktok.studio import open_studio

    return open_studio(uri, base_dir)


def _open_ads(uri: str, base_dir: Path) -> Source:
    from kpiengine_tiktok.ads import open_ads

    return open_ads(uri, base_dir)


def _open_api(uri: str, base_dir: Path) -> Source:
    from kpiengine_tiktok.api import open_api

    return open_api(uri, base_dir)


@hookimpl
def kpi_source_types() -> list[SourceType]:
    """The ``tiktok-studio``, ``tiktok-ads`` and ``tiktok-api`` source types."""
    return [
        SourceType(
            "tiktok-studio",
            "tiktok-studio:PATH[?year=YYYY|exported=YYYY-MM-DD] — a TikTok Studio analytics "
            "export: a folder, a zip or a folder of zips (CSV or XLSX inside).",
            _open_studio,
        ),
        SourceType(
            "tiktok-ads",
            "tiktok-ads:PATH[?currency=CODE|mixed_currency=allow] — an Ads Manager report "
            "export (CSV or XLSX), or a folder of them.",
            _open_ads,
        ),
        SourceType(
            "tiktok-api",
            "tiktok-api:live?…|PATH — the TikTok Marketing and Business APIs, live (token "
            "from TIKTOK_ACCESS_TOKEN) or from saved JSON answers.",
            _open_api,
        ),
    ]
