"""``tiktok-ads:`` on Ads Manager exports written here by hand.

UI labels, thousands separators, ``%``, a currency sign, ``-`` for no value and the
``Total of N results`` row. Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tiktok_cli import fails, one, rows, run, xlsx

HEADER = (
    "By Day,Campaign name,Ad group name,Ad name,Objective,Currency,Cost,Impressions,Reach,"
    "Clicks (destination),CTR (destination),Conversions,Purchase value (website),Video views,"
    "6-second video views,Video views at 100%,Paid likes,Paid comments,Paid shares,Paid follows"
)
LINES = [
    '2026-03-01,Spring,Broad,Ad A,conversions,EUR,"1,200.50","100,000","80,000","1,000",'
    '1.00%,40,"2,401.00","60,000","12,000","3,000",500,20,30,15',
    '2026-03-01,Spring,Broad,"Ad B, the ""long"" cut",conversions,EUR,€299.50,"50,000",-,250,'
    '0.50%,10,-,"30,000","6,000","1,500",100,5,5,5',
    '2026-03-02,Spring,Broad,Ad A,conversions,EUR,500.00,"40,000","35,000",150,0.38%,0,'
    '0.00,"20,000","4,000","1,000",200,10,10,0',
]
TOTAL = (
    'Total of 3 results,-,-,-,-,-,"2,000.00","190,000","115,000","1,400",0.74%,50,"2,401.00",'
    '"110,000","22,000","5,500",800,35,45,20'
)
PAID = (
    "spend", "impressions", "paid_reach", "frequency", "clicks", "ctr", "cpc", "cpm",
    "conversions", "conversion_rate", "cpa", "conversion_value", "roas", "paid_views",
    "view_rate_6s", "completion_rate", "paid_engagements", "paid_engagement_rate",
    "paid_follows", "cost_per_follow",
)  # fmt: skip
# spend 1200.50 + 299.50 + 500 = 2000; impressions 190,000; clicks 1,400; conversions 50;
# reach 80,000 + 35,000 (Ad B's `-` is null); value 2,401 (Ad B's `-` is null)
EXPECTED = {
    "spend": 2000.0,
    "impressions": 190_000,
    "paid_reach": 115_000,
    "frequency": 190_000 / 115_000,
    "clicks": 1400,
    "ctr": 1400 / 190_000,
    "cpc": 2000 / 1400,
    "cpm": 2000 / 190_000 * 1000,
    "conversions": 50,
    "conversion_rate": 50 / 1400,
    "cpa": 2000 / 50,
    "conversion_value": 2401.0,
    "roas": 2401 / 2000,
    "paid_views": 110_000,
    "view_rate_6s": 22_000 / 110_000,
    "completion_rate": 5_500 / 110_000,
    "paid_engagements": 800 + 35 + 45,
    "paid_engagement_rate": 880 / 190_000,
    "paid_follows": 20,
    "cost_per_follow": 2000 / 20,
}


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def check(row: dict[str, object]) -> None:
    for name, want in EXPECTED.items():
        assert row[name] == pytest.approx(want, rel=1e-12), name


def test_csv_export(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "report.csv", *LINES, TOTAL)
    result = run("--source", f"paid=tiktok-ads:{path}", kpis=PAID)
    check(one(result, "paid"))
    assert any("1 `Total of N results` row left out" in n for n in result["notices"])
    # CPA 40 is above the default target of 30
    assert [f["rule"] for f in result["findings"]] == ["cpa_above_30"]


def test_rules_by_day(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "report.csv", *LINES, TOTAL)
    result = run(
        "--source", f"paid=tiktok-ads:{path}", "--grain", "day", kpis=("ctr", "cpa", "roas")
    )
    found = {(f["rule"], f["period"]) for f in result["findings"]}
    # 2 March: CTR 150/40,000 = 0.375 %, ROAS 0/500 = 0, CPA undefined (no conversions);
    # 1 March: CTR 1,250/150,000 = 0.83 %, CPA 1500/50 = 30 (not above), ROAS 2401/1500
    assert found == {("ctr_below_half_percent", "2026-03-02"), ("roas_below_one", "2026-03-02")}
    got = rows(result, "paid")
    assert got[("2026-03-02",)]["cpa"] is None
    assert got[("2026-03-01",)]["cpa"] == pytest.approx(30)


def test_xlsx_export_gives_the_same(tmp_path: Path) -> None:
    cells = [
        HEADER.split(","),
        ["2026-03-01", "Spring", "Broad", "Ad A", "conversions", "EUR", 1200.5, 100000,
         80000, 1000, "1.00%", 40, 2401, 60000, 12000, 3000, 500, 20, 30, 15],
        ["2026-03-01", "Spring", "Broad", 'Ad B, the "long" cut', "conversions", "EUR",
         "€299.50", "50,000", "-", 250, "0.50%", 10, "-", 30000, 6000, 1500, 100, 5, 5, 5],
        ["2026-03-02", "Spring", "Broad", "Ad A", "conversions", "EUR", 500, 40000, 35000,
         150, "0.38%", 0, 0, 20000, 4000, 1000, 200, 10, 10, 0],
        ["Total of 3 results", "-", "-", "-", "-", "-", 2000, 190000, 115000, 1400, "0.74%",
         50, 2401, 110000, 22000, 5500, 800, 35, 45, 20],
    ]  # fmt: skip
    path = tmp_path / "report.xlsx"
    path.write_bytes(xlsx(cells))
    result = run("--source", f"paid=tiktok-ads:{path}", kpis=PAID)
    check(one(result, "paid"))
    by_ad = rows(run("--source", f"paid=tiktok-ads:{path}", "--by", "ad", kpis=("spend",)),
                 "paid", ("ad",))  # fmt: skip
    assert by_ad[(None, 'Ad B, the "long" cut')]["spend"] == pytest.approx(299.5)


def test_a_folder_of_exports(tmp_path: Path) -> None:
    folder = tmp_path / "ads"
    folder.mkdir()
    write_csv(folder / "march-1.csv", LINES[0], LINES[1])
    write_csv(
        folder / "march-2.csv",
        LINES[2],
        'Total of 1 result,-,-,-,-,-,500.00,"40,000","35,000",150,0.38%,0,0.00,"20,000",'
        '"4,000","1,000",200,10,10,0',
    )
    (folder / "notes.txt").write_text("not an export", encoding="utf-8")
    result = run("--source", f"paid=tiktok-ads:{folder}", kpis=PAID)
    check(one(result, "paid"))
    assert any("notes.txt: not a CSV or XLSX file; ignored" in n for n in result["notices"])


def test_mixed_currencies_are_refused_unless_the_uri_says(tmp_path: Path) -> None:
    folder = tmp_path / "ads"
    folder.mkdir()
    write_csv(folder / "eur.csv", *LINES)
    write_csv(
        folder / "usd.csv",
        "2026-03-01,Fall,Broad,Ad C,conversions,USD,100.00,1000,900,10,1.00%,1,50.00,500,100,"
        "50,5,0,0,1",
    )
    error = fails("--source", f"paid=tiktok-ads:{folder}", "--kpi", "spend")
    assert "mixes currencies: EUR (3 rows), USD (1 rows)" in error
    assert "?currency=EUR" in error
    assert "mixed_currency=allow" in error
    # keep one currency: the other rows are left out, and the output says how many
    result = run("--source", f"paid=tiktok-ads:{folder}?currency=EUR", kpis=PAID)
    check(one(result, "paid"))
    assert any("left out 1 in USD" in n for n in result["notices"])
    # or allow the mix and break the money down by currency
    result = run(
        "--source", f"paid=tiktok-ads:{folder}?mixed_currency=allow", "--by", "currency",
        kpis=("spend", "clicks"),
    )  # fmt: skip
    got = rows(result, "paid", ("currency",))
    assert got[(None, "EUR")]["spend"] == pytest.approx(2000)
    assert got[(None, "USD")]["spend"] == pytest.approx(100)
    assert got[(None, "USD")]["clicks"] == 10


def test_audience_report_goes_to_paid_audience(tmp_path: Path) -> None:
    path = tmp_path / "audience.csv"
    path.write_text(
        "By Day,Campaign name,Age,Gender,Currency,Cost,Impressions,Clicks (destination),"
        "Conversions\n"
        '2026-03-01,Spring,18-24,Female,EUR,100.00,"10,000",200,10\n'
        '2026-03-01,Spring,18-24,Male,EUR,50.00,"5,000",40,2\n'
        '2026-03-01,Spring,AGE_25_34,FEMALE,EUR,150.00,"20,000",100,5\n'
        'Total of 3 results,-,-,-,-,300.00,"35,000",340,17\n',
        encoding="utf-8",
    )
    source = ("--source", f"paid=tiktok-ads:{path}")
    by_age = rows(
        run(*source, "--by", "age", kpis=("ctr_by_age", "conversion_rate_by_age", "cpa_by_age")),
        "paid_audience",
        ("age",),
    )
    # 18-24: clicks 240 of 15,000 impressions, 12 conversions, spend 150; 25-34 (the API's
    # AGE_25_34): 100 of 20,000, 5 conversions, spend 150
    assert by_age[(None, "18-24")]["ctr_by_age"] == pytest.approx(240 / 15_000)
    assert by_age[(None, "18-24")]["conversion_rate_by_age"] == pytest.approx(12 / 240)
    assert by_age[(None, "18-24")]["cpa_by_age"] == pytest.approx(150 / 12)
    assert by_age[(None, "25-34")]["ctr_by_age"] == pytest.approx(100 / 20_000)
    assert by_age[(None, "25-34")]["cpa_by_age"] == pytest.approx(30)
    by_gender = rows(run(*source, "--by", "gender", kpis=("ctr_by_gender",)), "paid_audience",
                     ("gender",))  # fmt: skip
    assert by_gender[(None, "Female")]["ctr_by_gender"] == pytest.approx(300 / 30_000)
    assert by_gender[(None, "Male")]["ctr_by_gender"] == pytest.approx(40 / 5_000)
    # no delivery report among the files: the paid KPIs are empty, with a notice
    result = run(*source, kpis=("spend",))
    assert one(result, "paid")["spend"] is None
    assert any("no delivery report" in n for n in result["notices"])


def test_currency_option_labels_a_report_without_currency(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        "By Day,Campaign name,Cost,Impressions,Clicks (destination)\n"
        '2026-03-01,Spring,"$1,000.00","200,000","1,000"\n',
        encoding="utf-8",
    )
    result = run("--source", f"paid=tiktok-ads:{path}?currency=USD", "--by", "currency",
                 kpis=("spend", "cpc"))  # fmt: skip
    got = rows(result, "paid", ("currency",))
    assert got[(None, "USD")]["spend"] == pytest.approx(1000)
    assert got[(None, "USD")]["cpc"] == pytest.approx(1)
