"""``tiktok-studio:`` on a TikTok Studio export written here by hand, quirks and all.

The export covers 30 December 2026 to 2 January 2027 (a December→January turn) and was
taken on 4 January 2027 at 10:00 UTC: epoch 1799056800 in the Overview zip's name.
Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tiktok_cli import fails, one, rows, run, studio_csv, table, write_zip, xlsx

EPOCH = "1799056800"  # 2027-01-04 10:00:00 UTC

OVERVIEW = studio_csv(
    '"Date","Video Views","Profile Views","Likes","Comments","Shares"',
    '"December 30","1000","10","100","5","2"',
    '"December 31","2000","20","150","-1","3"',
    '"January 1","undefined","undefined","undefined","undefined","undefined"',
    '"January 2","4000","40","300","20","10"',
)
# Portuguese UI. The difference column is TikTok's off-by-one one (next day minus this
# day): 510-500=10 is written on 30 December, not on the 31st.
FOLLOWER_HISTORY = studio_csv(
    '"Data","Seguidores","Diferença de seguidores em relação ao dia anterior"',
    '"30 de dezembro","500","10"',
    '"31 de dezembro","510","-5"',
    '"1 de janeiro","505","20"',
    '"2 de janeiro","525","0"',
)
# Vietnamese dates: "31 tháng Mười Hai" is 31 December, "1 tháng Một" and "1 tháng 1"
# are 1 January.
FOLLOWER_ACTIVITY = studio_csv(
    '"Date","Hour","Active followers"',
    '"31 tháng Mười Hai","20","100"',
    '"31 tháng Mười Hai","21","60"',
    '"1 tháng Một","20","70"',
    '"1 tháng 1","21","100"',
)
FOLLOWER_GENDER = studio_csv(
    '"Gênero","Distribuição"', '"Feminino","55%"', '"Masculino","40%"', '"Outro","5%"'
)
VIEWERS = studio_csv(
    '"Date","Total Viewers","New Viewers","Returning Viewers"',
    '"December 30","600","400","200"',
    '"December 31","1200","900","300"',
    '"January 1","undefined","0","0"',
    '"January 2","2500","1500","1000"',
)
CONTENT = studio_csv(
    '"Time","Video title","Video link","Post time","Total likes","Total comments",'
    '"Total shares","Total views"',
    '"2027-01-04 10:00:00","Hello, world","https://www.tiktok.com/@shop/video/'
    '7450000000000000001","2026-12-30 18:00:00","100","5","2","1000"',
    '"2027-01-04 10:00:00","Second ""take""","https://www.tiktok.com/@shop/video/'
    '7450000000000000002?is_from_webapp=1","2027-01-02 09:30:00","300","20","10","5000"',
)
TERRITORIES = [["Top territories", "Distribution"], ["BR", "0.6"], ["PT", "0.3"], ["Others", "0.1"]]


def write_export(folder: Path, *, overview_name: str | None = None) -> Path:
    """The export set as TikTok Studio downloads it: one zip per tab."""
    folder.mkdir(parents=True, exist_ok=True)
    name = overview_name or f"Overview_2026-12-30_{EPOCH}_shop.zip"
    write_zip(folder / name, {"Overview.csv": OVERVIEW})
    write_zip(folder / "Content_shop.zip", {"Content.csv": CONTENT})
    write_zip(folder / "Viewers_shop.zip", {"Viewers.csv": VIEWERS})
    write_zip(
        folder / "Followers_shop.zip",
        {
            "FollowerHistory.csv": FOLLOWER_HISTORY,
            "FollowerActivity.csv": FOLLOWER_ACTIVITY,
            "FollowerGender.csv": FOLLOWER_GENDER,
            "FollowerTopTerritories.xlsx": xlsx(TERRITORIES),
        },
    )
    return folder


ORGANIC = (
    "organic_views", "organic_likes", "organic_comments", "organic_shares",
    "organic_engagements", "organic_engagement_rate", "engagement_rate_by_followers",
    "profile_views", "followers", "follower_growth", "follower_growth_rate", "organic_reach",
    "new_viewer_share", "videos_posted", "avg_views_per_video",
)  # fmt: skip


def test_whole_export(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    result = run("--source", f"organic=tiktok-studio:{folder}", kpis=ORGANIC)
    row = one(result, "organic")
    # 1 January is `undefined`: null, so the sums are over three days
    assert row["organic_views"] == 1000 + 2000 + 4000
    assert row["organic_likes"] == 100 + 150 + 300
    assert row["organic_comments"] == 5 - 1 + 20
    assert row["organic_shares"] == 2 + 3 + 10
    assert row["organic_engagements"] == 550 + 24 + 15
    assert row["organic_engagement_rate"] == pytest.approx(589 / 7000)
    assert row["profile_views"] == 70
    # followers at the end: 525; growth from the counts: 10 - 5 + 20 (the first day has none)
    assert row["followers"] == 525
    assert row["follower_growth"] == 25
    assert row["follower_growth_rate"] == pytest.approx(25 / 500)
    assert row["engagement_rate_by_followers"] == pytest.approx(589 / 525)
    # viewers: 1 January is not counted yet (Total undefined, New and Returning 0)
    assert row["organic_reach"] == 600 + 1200 + 2500
    assert row["new_viewer_share"] == pytest.approx((400 + 900 + 1500) / 4300)
    assert row["videos_posted"] == 2
    assert row["avg_views_per_video"] == pytest.approx((1000 + 5000) / 2)
    notices = "\n".join(result["notices"])
    assert "Overview.csv: 1 row has `undefined` values, read as null (line 4)" in notices
    assert "Viewers.csv: 1 row has `undefined` values" in notices


def test_the_year_turns_in_january(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    result = run(
        "--source",
        f"organic=tiktok-studio:{folder}",
        "--grain",
        "year",
        kpis=("organic_views", "organic_engagements", "followers", "videos_posted"),
    )
    got = rows(result, "organic")
    assert got[("2026-01-01",)]["organic_views"] == 3000
    assert got[("2026-01-01",)]["organic_engagements"] == (100 + 150) + (5 - 1) + (2 + 3)
    assert got[("2026-01-01",)]["followers"] == 510
    assert got[("2026-01-01",)]["videos_posted"] == 1
    assert got[("2027-01-01",)]["organic_views"] == 4000
    assert got[("2027-01-01",)]["organic_engagements"] == 300 + 20 + 10
    assert got[("2027-01-01",)]["followers"] == 525
    assert got[("2027-01-01",)]["videos_posted"] == 1


def test_follower_growth_is_recomputed_not_taken_from_the_difference_column(
    tmp_path: Path,
) -> None:
    folder = write_export(tmp_path / "studio")
    result = run(
        "--source", f"organic=tiktok-studio:{folder}", "--grain", "day", kpis=("follower_growth",)
    )
    got = {k[0]: r["follower_growth"] for k, r in rows(result, "organic").items()}
    # 510-500, 505-510, 525-505; TikTok's column says 10, -5, 20 one day earlier
    assert got == {"2026-12-30": None, "2026-12-31": 10, "2027-01-01": -5, "2027-01-02": 20}
    findings = [f for f in result["findings"] if f["rule"] == "follower_count_fell"]
    assert [(f["period"], f["value"]) for f in findings] == [("2027-01-01", -5)]


def test_audience_from_studio(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    source = ("--source", f"organic=tiktok-studio:{folder}")
    by_gender = rows(
        run(*source, "--by", "gender", kpis=("follower_share_by_gender",)), "audience", ("gender",)
    )
    assert {k[1]: r["follower_share_by_gender"] for k, r in by_gender.items()} == {
        "Female": pytest.approx(0.55),
        "Male": pytest.approx(0.40),
        "Other": pytest.approx(0.05),
    }
    by_territory = rows(
        run(*source, "--by", "territory", kpis=("follower_share_by_territory",)),
        "audience",
        ("territory",),
    )
    assert {k[1]: r["follower_share_by_territory"] for k, r in by_territory.items()} == {
        "BR": pytest.approx(0.6),
        "PT": pytest.approx(0.3),
        "Others": pytest.approx(0.1),
    }
    # no age breakdown in Studio exports: the KPI is empty, and the output says why
    result = run(*source, kpis=("follower_share_by_age",))
    assert one(result, "audience")["follower_share_by_age"] is None
    assert any("no age breakdown" in n for n in result["notices"])


def test_active_followers_and_best_hour(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    source = ("--source", f"organic=tiktok-studio:{folder}")
    kpis = ("active_followers", "peak_active_followers", "best_hour_to_post")
    whole = one(run(*source, kpis=kpis), "audience")
    assert whole["active_followers"] == pytest.approx((100 + 60 + 70 + 100) / 4)
    assert whole["peak_active_followers"] == 100
    assert whole["best_hour_to_post"] == 21  # 100 at 20h on 31 Dec and at 21h on 1 Jan: later
    by_year = rows(run(*source, "--grain", "year", kpis=kpis), "audience")
    assert by_year[("2026-01-01",)]["best_hour_to_post"] == 20
    assert by_year[("2027-01-01",)]["best_hour_to_post"] == 21
    result = run(*source, "--by", "hour", kpis=kpis)
    by_hour = rows(result, "audience", ("hour",))
    assert by_hour[(None, 20)]["active_followers"] == pytest.approx(85)
    assert by_hour[(None, 21)]["active_followers"] == pytest.approx(80)
    # the catalogue's ranking of the hours: 20h (85 on average) before 21h (80)
    best = table(result, "Best hours to post")
    assert [(r["hour"], r["rank"], r["too_small"]) for r in best] == [
        (20, 1, False),
        (21, 2, False),
    ]
    assert best[0]["active_followers"] == pytest.approx(85)


def test_new_and_returning_viewers(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    kpis = ("new_viewers", "returning_viewers", "returning_viewer_share")
    row = one(run("--source", f"organic=tiktok-studio:{folder}", kpis=kpis), "audience")
    assert row["new_viewers"] == 2800
    assert row["returning_viewers"] == 1500
    assert row["returning_viewer_share"] == pytest.approx(1500 / 4300)


def test_year_option_without_the_export_time(tmp_path: Path) -> None:
    # The files unzipped into one folder: no Overview zip name, so no export time.
    folder = tmp_path / "loose"
    folder.mkdir()
    for name, data in {
        "Overview.csv": OVERVIEW,
        "FollowerHistory.csv": FOLLOWER_HISTORY,
        "Viewers.csv": VIEWERS,
    }.items():
        (folder / name).write_bytes(data)
    error = fails("--source", f"organic=tiktok-studio:{folder}", "--kpi", "organic_views")
    assert "the dates have no year" in error
    assert "?year=YYYY" in error
    # the year of the export's last day; December goes to the year before
    result = run(
        "--source",
        f"organic=tiktok-studio:{folder}?year=2027",
        "--grain",
        "year",
        kpis=("organic_views", "followers"),
    )
    got = rows(result, "organic")
    assert got[("2026-01-01",)]["organic_views"] == 3000
    assert got[("2027-01-01",)]["organic_views"] == 4000
    # or the export date
    result = run(
        "--source",
        f"organic=tiktok-studio:{folder}?exported=2027-01-04",
        "--grain",
        "year",
        kpis=("organic_views",),
    )
    assert rows(result, "organic")[("2026-01-01",)]["organic_views"] == 3000


def test_one_zip_and_a_single_file(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "studio")
    overview = folder / f"Overview_2026-12-30_{EPOCH}_shop.zip"
    row = one(run("--source", f"organic=tiktok-studio:{overview}", kpis=("organic_views",)),
              "organic")  # fmt: skip
    assert row["organic_views"] == 7000
    single = tmp_path / "FollowerHistory.csv"
    single.write_bytes(FOLLOWER_HISTORY)
    row = one(
        run("--source", f"organic=tiktok-studio:{single}?year=2027", kpis=("followers",)),
        "organic",
    )
    assert row["followers"] == 525


def test_several_exports_overlapping(tmp_path: Path) -> None:
    # Two Overview exports: the later one (by export time) has a corrected 2 January.
    folder = tmp_path / "two"
    folder.mkdir()
    write_zip(folder / f"Overview_2026-12-30_{EPOCH}_shop.zip", {"Overview.csv": OVERVIEW})
    later = studio_csv(
        '"Date","Video Views","Profile Views","Likes","Comments","Shares"',
        '"January 2","4100","40","300","20","10"',
        '"January 3","500","5","50","2","1"',
    )
    write_zip(folder / "Overview_2027-01-02_1799143200_shop.zip", {"Overview.csv": later})
    result = run("--source", f"organic=tiktok-studio:{folder}", kpis=("organic_views",))
    assert one(result, "organic")["organic_views"] == 1000 + 2000 + 4100 + 500
    assert any("1 rows appear in several files" in n for n in result["notices"])


def test_xlsx_overview_with_text_cells(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    book = xlsx(
        [
            ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
            ["August 9", "1188", "3", "118", "1", "0"],
            ["August 10", "1,250", "4", "120", "-1", "2"],
        ]
    )
    write_zip(folder / "Overview_2026-08-01_1786614000_shop.zip", {"Overview.xlsx": book})
    kpis = ("organic_views", "organic_comments")
    row = one(run("--source", f"organic=tiktok-studio:{folder}", kpis=kpis), "organic")
    assert row["organic_views"] == 1188 + 1250
    assert row["organic_comments"] == 0
