"""The canonical TikTok tables every ``tiktok-*`` source exposes, and the source that holds them.

Every source type (``tiktok-studio:``, ``tiktok-ads:``, ``tiktok-api:``) reads TikTok's
own formats and hands the result to :class:`CanonicalSource`: an in-memory DuckDB behind
an SQLAlchemy engine, with one table per dataset it has data for, under exactly the
names and types of :data:`TABLES`. A column the source has no data for is NULL; a
table it has no data for is absent.

Rows can be given as Python values (:meth:`CanonicalSource.add_rows`) or as a DuckDB
relation built on :attr:`CanonicalSource.duck` (:meth:`CanonicalSource.add_relation`),
which keeps large inputs inside DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpiengine.builtins.sources import SqlSource
from kpiengine.errors import SourceError

if TYPE_CHECKING:
    from sqlalchemy.sql.expression import FromClause

    from kpiengine.registry import ValueType

__all__ = [
    "AGE_BUCKETS",
    "ORGANIC_TABLES",
    "PAID_TABLES",
    "TABLES",
    "CanonicalSource",
    "build_source",
    "normalize_age",
    "normalize_gender",
    "quote_ident",
    "resolve_path",
    "shown",
]

_MEASURES_ORGANIC = ("views", "profile_views", "likes", "comments", "shares")

#: Canonical table name → {column: DuckDB type}, in column order.
TABLES: dict[str, dict[str, str]] = {
    "organic_daily": {"date": "DATE", **dict.fromkeys(_MEASURES_ORGANIC, "BIGINT")},
    "followers_daily": {"date": "DATE", "followers": "BIGINT", "followers_change": "BIGINT"},
    "viewers_daily": {
        "date": "DATE",
        "viewers_total": "BIGINT",
        "viewers_new": "BIGINT",
        "viewers_returning": "BIGINT",
    },
    "videos": {
        "video_id": "VARCHAR",
        "date": "DATE",
        "posted_at": "TIMESTAMP",
        "title": "VARCHAR",
        "views": "BIGINT",
        "likes": "BIGINT",
        "comments": "BIGINT",
        "shares": "BIGINT",
        "duration_s": "DOUBLE",
        "reach": "BIGINT",
        "avg_watch_s": "DOUBLE",
        "full_watch_rate": "DOUBLE",
        "new_followers": "BIGINT",
    },
    "follower_activity": {"date": "DATE", "hour": "INTEGER", "active_followers": "BIGINT"},
    "audience_gender": {"gender": "VARCHAR", "share": "DOUBLE"},
    "audience_territory": {"territory": "VARCHAR", "share": "DOUBLE"},
    "audience_age": {"age": "VARCHAR", "share": "DOUBLE"},
    "paid_daily": {
        "date": "DATE",
        **dict.fromkeys(
            (
                "campaign",
                "campaign_id",
                "ad_group",
                "ad_group_id",
                "ad",
                "ad_id",
                "objective",
                "currency",
            ),
            "VARCHAR",
        ),
        "spend": "DOUBLE",
        "impressions": "BIGINT",
        "reach": "BIGINT",
        "clicks": "BIGINT",
        "conversions": "BIGINT",
        "conversion_value": "DOUBLE",
        **dict.fromkeys(
            (
                "video_views",
                "views_2s",
                "views_6s",
                "views_p25",
                "views_p50",
                "views_p75",
                "views_p100",
                "likes",
                "comments",
                "shares",
                "follows",
                "profile_visits",
            ),
            "BIGINT",
        ),
    },
    "paid_audience": {
        "date": "DATE",
        **dict.fromkeys(
            (
                "campaign",
                "ad_group",
                "age",
                "gender",
                "country",
                "interest_category",
                "currency",
            ),
            "VARCHAR",
        ),
        "spend": "DOUBLE",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
        "conversions": "BIGINT",
        "conversion_value": "DOUBLE",
    },
}

#: The tables read from the organic side (Studio, Business API) and the paid side (Ads).
ORGANIC_TABLES = (
    "organic_daily",
    "followers_daily",
    "viewers_daily",
    "videos",
    "follower_activity",
    "audience_gender",
    "audience_territory",
    "audience_age",
)
PAID_TABLES = ("paid_daily", "paid_audience")


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier (only ever used on canonical or relation column names)."""
    return '"' + name.replace('"', '""') + '"'


def _select_list(table: str, available: Iterable[str]) -> str:
    """Each canonical column cast to its type, NULL when ``available`` lacks it."""
    have = set(available)
    parts = []
    for col, typ in TABLES[table].items():
        value = f"CAST({quote_ident(col)} AS {typ})" if col in have else f"CAST(NULL AS {typ})"
        parts.append(f"{value} AS {quote_ident(col)}")
    return ", ".join(parts)


class CanonicalSource(SqlSource):
    """Canonical tables in an in-memory DuckDB, behind an SQLAlchemy engine.

    ``display`` is the URI as it may appear in messages (no secrets). ``notices`` are
    messages for the user about what was read (rows skipped and why); the engine shows
    them with the result.

    A canonical table the source has no data for is created empty when a query asks
    for it, with a notice (``missing_reasons`` may say why: "Studio exports have no age
    breakdown"), so that a whole catalogue runs on a source that covers part of it.
    """

    def __init__(self, display: str) -> None:
        import sqlalchemy as sa
        from sqlalchemy.pool import StaticPool

        self.display = display
        self._secrets = []
        self._columns = {}
        self.notices: list[str] = []
        self._engine = sa.create_engine("duckdb:///:memory:", poolclass=StaticPool)
        self._raw: Any = self._engine.raw_connection()
        #: The DuckDB connection behind the engine, for building relations.
        self.duck: Any = self._raw.driver_connection
        self.tables: list[str] = []
        self.missing_reasons: dict[str, str] = {}

    def _check_name(self, table: str) -> None:
        if table not in TABLES:
            raise ValueError(f"not a canonical table: {table}")
        if table in self.tables:
            raise ValueError(f"table {table} added twice")

    def add_relation(self, table: str, relation: Any) -> None:
        """Materialise ``relation`` (on :attr:`duck`) as canonical ``table``.

        Columns are matched by name and cast to the canonical type; canonical columns the
        relation lacks are NULL, extra columns are ignored.
        """
        self._check_name(table)
        projected = relation.project(_select_list(table, relation.columns))
        projected.create(table)
        self.tables.append(table)

    def add_rows(self, table: str, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> None:
        """Create canonical ``table`` from ``rows``: mappings keyed by column (missing keys
        are NULL) or sequences in the column order of :data:`TABLES`. Values may be Python
        values of the right kind (``datetime.date``, ``int``, ``float``, ``str``) or strings
        DuckDB can cast (``"2026-07-01"``, ``"12"``)."""
        self._check_name(table)
        cols = list(TABLES[table])
        defs = ", ".join(f"{quote_ident(c)} {t}" for c, t in TABLES[table].items())
        self.duck.execute(f"CREATE TABLE {quote_ident(table)} ({defs})")
        self.tables.append(table)
        values: list[list[Any]] = []
        for row in rows:
            if isinstance(row, Mapping):
                values.append([row.get(c) for c in cols])
            else:
                if len(row) != len(cols):
                    raise ValueError(f"{table}: a row has {len(row)} values, not {len(cols)}")
                values.append(list(row))
        if values:
            marks = ", ".join("?" for _ in cols)
            self.duck.executemany(f"INSERT INTO {quote_ident(table)} VALUES ({marks})", values)

    def _ensure(self, table: str) -> None:
        """Create canonical ``table`` empty, with a notice, if the source lacks it."""
        if table in TABLES and table not in self.tables:
            self.add_rows(table, [])
            reason = self.missing_reasons.get(table)
            self.notices.append(
                f"{self.display} has no data for `{table}`"
                + (f" ({reason})" if reason else "")
                + ": its KPIs are empty"
            )

    def table(self, name: str, columns: Sequence[str] | None = None) -> FromClause:
        self._ensure(name)
        return super().table(name, columns)

    def columns(self, table: str) -> dict[str, ValueType]:
        self._ensure(table)
        return super().columns(table)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def build_source(
    display: str,
    tables: Mapping[str, Iterable[Mapping[str, Any] | Sequence[Any]] | None],
    notices: Sequence[str] = (),
) -> CanonicalSource:
    """A :class:`CanonicalSource` holding ``tables`` (rows per canonical table name;
    None or an absent key: the table is absent)."""
    source = CanonicalSource(display)
    try:
        for name, rows in tables.items():
            if rows is not None:
                source.add_rows(name, rows)
    except Exception as exc:
        source.close()
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"cannot load {display}: {exc}") from None
    source.notices.extend(notices)
    return source


def shown(path: Path | str) -> str:
    """``path`` as messages show it: relative to the working directory when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resolve_path(raw: str, base_dir: Path) -> Path:
    """A path from a URI, relative to ``base_dir`` unless absolute; ``~`` expanded."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base_dir / path


# -- canonical values of the audience dimensions ------------------------------------------

#: Age buckets as TikTok's Business API names them; the Ads API's ``AGE_18_24`` and
#: ``AGE_55_100`` become ``18-24`` and ``55+``.
AGE_BUCKETS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")

_GENDERS = {
    "female": "Female",
    "f": "Female",
    "feminino": "Female",
    "femenino": "Female",
    "femme": "Female",
    "femmes": "Female",
    "mujer": "Female",
    "mujeres": "Female",
    "mulher": "Female",
    "mulheres": "Female",
    "weiblich": "Female",
    "frauen": "Female",
    "women": "Female",
    "nu": "Female",
    "male": "Male",
    "m": "Male",
    "masculino": "Male",
    "homme": "Male",
    "hommes": "Male",
    "hombre": "Male",
    "hombres": "Male",
    "homem": "Male",
    "homens": "Male",
    "mannlich": "Male",
    "manner": "Male",
    "men": "Male",
    "nam": "Male",
    "other": "Other",
    "others": "Other",
    "outro": "Other",
    "outros": "Other",
    "otro": "Other",
    "otros": "Other",
    "otra": "Other",
    "otras": "Other",
    "autre": "Other",
    "autres": "Other",
    "khac": "Other",
    "none": "Unknown",
    "unknown": "Unknown",
}


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def normalize_gender(value: str | None) -> str | None:
    """``Female``, ``Male``, ``Other`` or ``Unknown`` (TikTok's ``NONE``); None for no value.

    Accepts the API's ``FEMALE``/``MALE``/``NONE`` and the export labels in English,
    Portuguese, Spanish, French, German and Vietnamese (``Mujer``, ``Masculino``,
    ``Homens``, …); anything else is returned as is.
    """
    if value is None or not value.strip() or value.strip() == "-":
        return None
    return _GENDERS.get(_fold(value), value.strip())


def normalize_age(value: str | None) -> str | None:
    """``18-24`` style buckets (``55+`` for the last); ``Unknown`` for TikTok's ``NONE``."""
    import re

    if value is None or not value.strip() or value.strip() == "-":
        return None
    text = value.strip().upper()
    if text in ("NONE", "UNKNOWN"):
        return "Unknown"
    match = re.fullmatch(r"(?:AGE_)?(\d+)\s*[-_–]\s*(\d+)", text)
    if match:
        low, high = int(match[1]), int(match[2])
        return f"{low}+" if high >= 100 else f"{low}-{high}"
    match = re.fullmatch(r"(?:AGE_)?(\d+)\s*\+", text)
    if match:
        return f"{int(match[1])}+"
    return value.strip()
