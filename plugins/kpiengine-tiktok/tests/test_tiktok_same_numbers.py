"""The same data as TikTok's exports and as canonical CSVs gives the same KPI values.

Two checks: the shipped sample (``specs/tiktok/data`` against ``specs/tiktok/exports``)
over several grains and breakdowns, and a small data set written here by hand in both
forms.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from tiktok_cli import ROOT, run, studio_csv, write_zip

STUDIO = ROOT / "specs" / "tiktok" / "exports" / "studio"
ADS = ROOT / "specs" / "tiktok" / "exports" / "ads"
EXPORTS = ("--source", f"organic=tiktok-studio:{STUDIO}", "--source", f"paid=tiktok-ads:{ADS}")
# Studio exports have no age breakdown: that KPI is empty from them, by design.
NOT_IN_STUDIO = {"follower_share_by_age"}


def values(result: dict[str, Any]) -> dict[tuple[Any, ...], Any]:
    out = {}
    for table in result["tables"]:
        for row in table["rows"]:
            key = (table["name"], row["period"], *(row[d] for d in table["dimensions"]))
            for kpi in table["kpis"]:
                out[(*key, kpi)] = row[kpi]
    return out


def assert_same(expected: dict[Any, Any], got: dict[Any, Any], skip: set[str]) -> None:
    expected = {k: v for k, v in expected.items() if k[-1] not in skip}
    got = {k: v for k, v in got.items() if k[-1] not in skip}
    assert set(got) == set(expected)
    problems = []
    for key, want in expected.items():
        have = got[key]
        same = (want is None and have is None) or (
            want is not None and have is not None and math.isclose(have, want, rel_tol=1e-9)
        )
        if not same:
            problems.append(f"{key}: {want!r} != {have!r}")
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--grain", "day"],
        ["--grain", "week", "--by", "campaign"],
        ["--grain", "month", "--by", "age"],
        ["--by", "gender"],
        ["--by", "hour"],
        ["--by", "interest_category", "--grain", "quarter"],
    ],
    ids=lambda a: " ".join(a) or "total",
)
def test_shipped_exports_give_the_numbers_of_the_canonical_csvs(args: list[str]) -> None:
    from_csv = run(*args)
    from_exports = run(*EXPORTS, *args)
    assert_same(values(from_csv), values(from_exports), NOT_IN_STUDIO)
    assert [f["rule"] for f in from_csv["findings"]] == [
        f["rule"] for f in from_exports["findings"]
    ]
    assert len(values(from_csv)) > 40
    skip = {k for k, v in values(from_exports).items() if k[-1] in NOT_IN_STUDIO}
    assert all(values(from_exports)[k] is None for k in skip)


# -- a small data set, written by hand twice -------------------------------------------

CANONICAL = {
    "organic_daily.csv": "date,views,profile_views,likes,comments,shares\n"
    "2026-12-30,1000,10,100,5,2\n2026-12-31,2000,20,150,-1,3\n2027-01-01,,,,,\n"
    "2027-01-02,4000,40,300,20,10\n",
    "followers_daily.csv": "date,followers,followers_change\n"
    "2026-12-30,500,\n2026-12-31,510,10\n2027-01-01,505,-5\n2027-01-02,525,20\n",
    "viewers_daily.csv": "date,viewers_total,viewers_new,viewers_returning\n"
    "2026-12-30,600,400,200\n2026-12-31,1200,900,300\n2027-01-01,,,\n2027-01-02,2500,1500,1000\n",
    "videos.csv": "video_id,date,posted_at,title,views,likes,comments,shares\n"
    "7450000000000000001,2026-12-30,2026-12-30 18:00:00,Hi,1000,100,5,2\n"
    "7450000000000000002,2027-01-02,2027-01-02 09:30:00,Bye,5000,300,20,10\n",
    "follower_activity.csv": "date,hour,active_followers\n"
    "2026-12-31,20,100\n2026-12-31,21,60\n2027-01-01,20,70\n2027-01-01,21,100\n",
    "audience_gender.csv": "gender,share\nFemale,0.55\nMale,0.4\nOther,0.05\n",
    "audience_territory.csv": "territory,share\nBR,0.6\nPT,0.3\nOthers,0.1\n",
    # only the Business API has ages (Studio does not): left out of the comparison
    "audience_age.csv": "age,share\n18-24,1.0\n",
    "paid_daily.csv": "date,campaign,ad_group,ad,objective,currency,spend,impressions,reach,"
    "clicks,conversions,conversion_value,video_views,views_2s,views_6s,views_p100,likes,"
    "comments,shares,follows,profile_visits\n"
    "2026-12-31,Winter,Broad,Ad A,conversions,EUR,1200.5,100000,80000,1000,40,2401,60000,,"
    "12000,3000,500,20,30,15,\n"
    "2026-12-31,Winter,Broad,Ad B,conversions,EUR,299.5,50000,,250,10,,30000,,6000,1500,100,"
    "5,5,5,\n"
    "2027-01-02,Winter,Broad,Ad A,conversions,EUR,500,40000,35000,150,0,0,20000,,4000,1000,"
    "200,10,10,0,\n",
    "paid_audience.csv": "date,campaign,ad_group,age,gender,country,interest_category,"
    "currency,spend,impressions,clicks,conversions,conversion_value\n"
    "2026-12-31,Winter,,18-24,Female,,,EUR,100,10000,200,10,\n"
    "2026-12-31,Winter,,18-24,Male,,,EUR,50,5000,40,2,\n"
    "2026-12-31,Winter,,25-34,Female,,,EUR,150,20000,100,5,\n",
}


def write_studio(folder: Path) -> None:
    folder.mkdir()
    write_zip(
        folder / "Overview_2026-12-30_1799056800_shop.zip",
        {
            "Overview.csv": studio_csv(
                '"Date","Video Views","Profile Views","Likes","Comments","Shares"',
                '"December 30","1000","10","100","5","2"',
                '"December 31","2000","20","150","-1","3"',
                '"January 1","undefined","undefined","undefined","undefined","undefined"',
                '"January 2","4000","40","300","20","10"',
            )
        },
    )
    write_zip(
        folder / "Followers_shop.zip",
        {
            "FollowerHistory.csv": studio_csv(
                '"Date","Followers","Difference in followers from previous day"',
                '"December 30","500","10"',
                '"December 31","510","-5"',
                '"January 1","505","20"',
                '"January 2","525","0"',
            ),
            "FollowerActivity.csv": studio_csv(
                '"Date","Hour","Active followers"',
                '"December 31","20","100"',
                '"December 31","21","60"',
                '"January 1","20","70"',
                '"January 1","21","100"',
            ),
            "FollowerGender.csv": studio_csv(
                '"Gender","Distribution"', '"Female","0.55"', '"Male","0.4"', '"Other","0.05"'
            ),
            "FollowerTopTerritories.csv": studio_csv(
                '"Top territories","Distribution"', '"BR","60%"', '"PT","30%"', '"Others","10%"'
            ),
        },
    )
    write_zip(
        folder / "Viewers_shop.zip",
        {
            "Viewers.csv": studio_csv(
                '"Data","Total de espectadores","Novos espectadores","Espectadores recorrentes"',
                '"30 de dezembro","600","400","200"',
                '"31 de dezembro","1200","900","300"',
                '"1 de janeiro","undefined","0","0"',
                '"2 de janeiro","2500","1500","1000"',
            )
        },
    )
    write_zip(
        folder / "Content_shop.zip",
        {
            "Content.csv": studio_csv(
                '"Time","Video title","Video link","Post time","Total likes","Total comments",'
                '"Total shares","Total views"',
                '"2027-01-04 10:00:00","Hi","https://www.tiktok.com/@shop/video/'
                '7450000000000000001","2026-12-30 18:00:00","100","5","2","1000"',
                '"2027-01-04 10:00:00","Bye","https://www.tiktok.com/@shop/video/'
                '7450000000000000002/","2027-01-02 09:30:00","300","20","10","5000"',
            )
        },
    )


def write_ads(folder: Path) -> None:
    folder.mkdir()
    (folder / "delivery.csv").write_text(
        "By Day,Campaign name,Ad group name,Ad name,Objective,Currency,Cost,Impressions,Reach,"
        "Clicks (destination),CTR (destination),Conversions,Purchase value (website),"
        "Video views,6-second video views,Video views at 100%,Paid likes,Paid comments,"
        "Paid shares,Paid follows\n"
        '2026-12-31,Winter,Broad,Ad A,conversions,EUR,"1,200.50","100,000","80,000","1,000",'
        '1.00%,40,"2,401.00","60,000","12,000","3,000",500,20,30,15\n'
        '2026-12-31,Winter,Broad,Ad B,conversions,EUR,€299.50,"50,000",-,250,0.50%,10,-,'
        '"30,000","6,000","1,500",100,5,5,5\n'
        '2027-01-02,Winter,Broad,Ad A,conversions,EUR,500.00,"40,000","35,000",150,0.38%,0,'
        '0.00,"20,000","4,000","1,000",200,10,10,0\n'
        'Total of 3 results,-,-,-,-,-,"2,000.00","190,000","115,000","1,400",0.74%,50,'
        '"2,401.00","110,000","22,000","5,500",800,35,45,20\n',
        encoding="utf-8",
    )
    (folder / "by_age_gender.csv").write_text(
        "By Day,Campaign name,Age,Gender,Currency,Cost,Impressions,Clicks (destination),"
        "Conversions\n"
        '2026-12-31,Winter,AGE_18_24,FEMALE,EUR,100.00,"10,000",200,10\n'
        '2026-12-31,Winter,AGE_18_24,MALE,EUR,50.00,"5,000",40,2\n'
        '2026-12-31,Winter,AGE_25_34,FEMALE,EUR,150.00,"20,000",100,5\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize("args", [[], ["--grain", "year"], ["--grain", "day", "--by", "age"]])
def test_hand_written_exports_give_the_numbers_of_hand_written_csvs(
    tmp_path: Path, args: list[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, text in CANONICAL.items():
        (data / name).write_text(text, encoding="utf-8")
    write_studio(tmp_path / "studio")
    write_ads(tmp_path / "ads")
    from_csv = run("--source", f"organic=csv:{data}", "--source", f"paid=csv:{data}", *args)
    from_exports = run(
        "--source",
        f"organic=tiktok-studio:{tmp_path / 'studio'}",
        "--source",
        f"paid=tiktok-ads:{tmp_path / 'ads'}",
        *args,
    )
    expected, got = values(from_csv), values(from_exports)
    assert_same(expected, got, NOT_IN_STUDIO)
    # and a few of them by hand, so that both are not wrong together
    if not args:
        assert got[("organic", None, "organic_engagements")] == 589
        assert got[("organic", None, "follower_growth")] == 25
        assert got[("paid", None, "spend")] == pytest.approx(2000)
        assert got[("paid", None, "roas")] == pytest.approx(2401 / 2000)
        assert got[("audience", None, "best_hour_to_post")] == 21
        assert got[("paid_audience", None, "cpa_by_gender")] == pytest.approx(300 / 17)
