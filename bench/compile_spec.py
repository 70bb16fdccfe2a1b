"""A generated spec of 1,000 KPIs over 20 datasets, for timing the compiler.

    python bench/compile_spec.py DIR     # write it into DIR

Every dataset declares its columns, so ``kpi validate`` and ``kpi explain --dialect
duckdb`` need no database (the source's file does not exist). Each dataset has its own
file of 50 KPIs: sums, ratios of KPIs, filtered sums, avg/min/max/count_distinct,
``if``/``coalesce``, arithmetic over several KPIs, a KPI over the previous dataset's
KPIs, and a rule. Datasets come in four categories of five, so a run over all of them
gives four output tables of five datasets each.
"""

from __future__ import annotations

import sys
from pathlib import Path

DATASETS = 20
KPIS_PER_DATASET = 50
MEASURES = 20
CATEGORIES = 4


def _dataset(d: int) -> str:
    columns = "\n".join(f"      m{m:02d}: number" for m in range(MEASURES))
    return f"""\
  ds{d:02d}:
    source: warehouse
    table: events_{d:02d}
    time: date
    dimensions: [region, channel, product]
    columns:
      date: date
      region: string
      channel: string
      product: string
{columns}
"""


def _kpis(d: int) -> str:
    p = f"d{d:02d}_"
    lines: list[tuple[str, str]] = []
    for m in range(MEASURES):  # 20 sums
        lines.append((f"{p}sum{m:02d}", f"sum(m{m:02d})"))
    for r in range(10):  # 10 ratios of sums
        lines.append((f"{p}ratio{r:02d}", f"{p}sum{r:02d} / {p}sum{r + 10:02d}"))
    regions = ("EU", "US", "APAC", "LATAM", "MEA")
    for f in range(5):  # 5 filtered sums
        lines.append(
            (f"{p}filtered{f}", f"sum(m{f:02d} where region = '{regions[f]}' and m{f + 1:02d} > 0)")
        )
    for a, fn in enumerate(("avg", "min", "max", "count_distinct", "count")):
        lines.append(
            (
                f"{p}{fn}",
                f"{fn}(m{a + 5:02d})" if fn != "count_distinct" else "count_distinct(product)",
            )
        )
    for c in range(5):  # 5 arithmetic over several KPIs
        lines.append(
            (f"{p}mix{c}", f"({p}sum{c:02d} + {p}sum{c + 1:02d}) / {p}sum{c + 2:02d} * 100")
        )
    for i in range(4):  # if / coalesce
        lines.append(
            (f"{p}cond{i}", f"if({p}sum{i:02d} > 0, {p}ratio{i:02d}, coalesce({p}mix{i}, 0))")
        )
    prev = f"d{(d - 1) % DATASETS:02d}_" if d % 5 else p  # the previous dataset in the category
    lines.append((f"{p}cross", f"{p}sum00 / {prev}sum01"))
    assert len(lines) == KPIS_PER_DATASET, len(lines)
    body = "\n".join(
        f'  {name}:\n    expr: "{expr}"\n    label: KPI {name}\n    format: number'
        for name, expr in lines
    )
    return f"""\
defaults:
  category: group{d // (DATASETS // CATEGORIES)}
  dataset: ds{d:02d}

kpis:
{body}

rules:
  {p}ratio_low:
    kpi: {p}ratio00
    when: {p}ratio00 < 0.5
    level: warn
"""


def write(folder: Path) -> Path:
    """Write the spec into ``folder`` (one sources file and a file per dataset)."""
    folder.mkdir(parents=True, exist_ok=True)
    datasets = "".join(_dataset(d) for d in range(DATASETS))
    (folder / "sources.yaml").write_text(
        "name: generated\n"
        "description: 1,000 generated KPIs over 20 datasets\n"
        "sources:\n  warehouse: duckdb:///warehouse.duckdb\n"
        f"datasets:\n{datasets}",
        encoding="utf-8",
    )
    for d in range(DATASETS):
        (folder / f"kpis_{d:02d}.yaml").write_text(_kpis(d), encoding="utf-8")
    return folder


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
