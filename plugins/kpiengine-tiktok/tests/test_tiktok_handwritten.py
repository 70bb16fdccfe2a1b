"""One small account written by hand three ways, in TikTok's own formats, as a new user
would: a TikTok Studio export (in Spanish), Ads Manager reports (CSV and XLSX) and saved
API answers. Every source must give the values worked out by hand below, and the three
ways the same values.

The data: five days across the turn of the year (2026-12-29 .. 2027-01-02), exported on
4 January 2027 at 09:30 UTC; the last day is not counted yet in the Studio export.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
from tiktok_cli import one, rows, run, studio_csv, write_zip, xlsx

EPOCH = "1799055000"  # 2027-01-04 09:30:00 UTC, the export time in the Overview zip's name

# -- organic: the TikTok Studio export, in Spanish --------------------------------------

OVERVIEW = (
    '"Fecha","Visualizaciones de videos","Visualizaciones del perfil","Me gusta",'
    '"Comentarios","Veces compartido"',
    '"29 de diciembre","1500","12","120","8","4"',
    '"30 de diciembre","2300","20","180","-1","6"',
    '"31 de diciembre","900","7","60","3","1"',
    '"1 de enero","3100","25","260","15","9"',
    '"2 de enero","undefined","undefined","undefined","undefined","undefined"',
)
# TikTok's difference column holds the next day's change (40 is 30 Dec's, not 29 Dec's)
FOLLOWER_HISTORY = (
    '"Fecha","Seguidores","Diferencia de seguidores con respecto al día anterior"',
    '"29 de diciembre","5000","40"',
    '"30 de diciembre","5040","-5"',
    '"31 de diciembre","5035","65"',
    '"1 de enero","5100","80"',
    '"2 de enero","5180","0"',
)
VIEWERS = (
    '"Fecha","Espectadores totales","Espectadores nuevos","Espectadores recurrentes"',
    '"29 de diciembre","1100","700","400"',
    '"30 de diciembre","1600","1000","600"',
    '"31 de diciembre","700","300","400"',
    '"1 de enero","2000","1500","500"',
    '"2 de enero","undefined","0","0"',
)
FOLLOWER_ACTIVITY = (
    '"Fecha","Hora","Seguidores activos"',
    '"1 de enero","19","900"',
    '"1 de enero","20","1200"',
    '"1 de enero","21","1100"',
    '"2 de enero","19","950"',
    '"2 de enero","20","1250"',
    '"2 de enero","21","1000"',
)
FOLLOWER_GENDER = ('"Género","Distribución"', '"Mujer","58%"', '"Hombre","40%"', '"Otro","2%"')
FOLLOWER_TERRITORIES = (
    '"Territorios principales","Distribución"',
    '"ES","0.45"',
    '"MX","0.25"',
    '"AR","0.1"',
    '"Others","0.2"',
)
LINK = "https://www.tiktok.com/@lumen/video/{}?is_from_webapp=1&sender_device=pc"
VIDEOS = [  # id, title, posted (UTC), views, likes, comments, shares
    ("7453000000000000001", "Abrigos de invierno #fyp", "2026-12-29 18:02:11", 4000, 300, 10, 7),
    ("7453000000000000002", 'Bufanda "la buena", 3 nudos', "2026-12-31 21:15:40", 2500, 150, 4, 2),
    ("7453000000000000003", "Rebajas: botas", "2027-01-01 20:40:05", 6100, 520, 30, 25),
]
CONTENT = (
    '"Hora","Título del video","Enlace del video","Hora de publicación","Total de me gusta",'
    '"Total de comentarios","Total de veces compartido","Total de visualizaciones"',
    *(
        '"2027-01-04 09:30:00","{}","{}","{}","{}","{}","{}","{}"'.format(
            title.replace('"', '""'), LINK.format(vid), posted, likes, comments, shares, views
        )
        for vid, title, posted, views, likes, comments, shares in VIDEOS
    ),
)


def write_studio(folder: Path) -> Path:
    """The four zips TikTok Studio gives, as it gives them (BOM, every field quoted, no
    newline at the end). The date in the Overview zip's name is not the export date."""
    folder.mkdir()
    write_zip(
        folder / f"Overview_2026-12-05_{EPOCH}_lumen.zip", {"Overview.csv": studio_csv(*OVERVIEW)}
    )
    write_zip(folder / "Content_lumen.zip", {"Content.csv": studio_csv(*CONTENT)})
    write_zip(folder / "Viewers_lumen.zip", {"Viewers.csv": studio_csv(*VIEWERS)})
    write_zip(
        folder / "Followers_lumen.zip",
        {
            "FollowerHistory.csv": studio_csv(*FOLLOWER_HISTORY),
            "FollowerActivity.csv": studio_csv(*FOLLOWER_ACTIVITY),
            "FollowerGender.csv": studio_csv(*FOLLOWER_GENDER),
            "FollowerTopTerritories.csv": studio_csv(*FOLLOWER_TERRITORIES),
        },
    )
    return folder


# views 1500 + 2300 + 900 + 3100 = 7,800 (2 Jan is `undefined`: not counted, not zero);
# likes 120 + 180 + 60 + 260 = 620; comments 8 - 1 + 3 + 15 = 25; shares 4 + 6 + 1 + 9 = 20;
# followers 5,180 on 2 Jan, 5,000 on 29 Dec: growth 180 (the days' changes +40 -5 +65
# +80, not TikTok's column); viewers 1100 + 1600 + 700 + 2000 = 5,400, new 3,500
ORGANIC = {
    "organic_views": 7800,
    "organic_likes": 620,
    "organic_comments": 25,
    "organic_shares": 20,
    "organic_engagements": 665,
    "organic_engagement_rate": 665 / 7800,
    "engagement_rate_by_followers": 665 / 5180,
    "profile_views": 64,
    "followers": 5180,
    "follower_growth": 180,
    "follower_growth_rate": 180 / 5000,
    "organic_reach": 5400,
    "new_viewer_share": 3500 / 5400,
    "videos_posted": 3,
    "avg_views_per_video": (4000 + 2500 + 6100) / 3,
}
# by day: 30 Dec's growth is +40 (5,040 - 5,000) and 1 Jan's +65; the first day has none
ORGANIC_BY_DAY = {
    "2026-12-29": {"organic_views": 1500, "follower_growth": None, "videos_posted": 1},
    "2026-12-30": {"organic_views": 2300, "organic_comments": -1, "follower_growth": 40},
    "2026-12-31": {"follower_growth": -5, "followers": 5035, "new_viewer_share": 300 / 700},
    "2027-01-01": {"follower_growth": 65, "videos_posted": 1, "avg_views_per_video": 6100},
    "2027-01-02": {"organic_views": None, "organic_reach": None, "followers": 5180},
}
# active followers: (900 + 1200 + 1100 + 950 + 1250 + 1000) / 6 hours; the peak 1,250 at
# 20h, the best hour on average 20h ((1200 + 1250) / 2 against 21h's 1,050)
AUDIENCE = {"active_followers": 6400 / 6, "peak_active_followers": 1250, "best_hour_to_post": 20}
GENDER = {"Female": 0.58, "Male": 0.40, "Other": 0.02}
TERRITORY = {"ES": 0.45, "MX": 0.25, "AR": 0.1}  # and Others 0.2, in the Studio export only

# -- paid: the Ads Manager report, CSV and XLSX ------------------------------------------

ADS_HEADER = [
    "By Day", "Campaign name", "Campaign ID", "Ad group name", "Ad group ID", "Ad name",
    "Ad ID", "Objective", "Currency", "Cost", "Impressions", "Reach", "Frequency",
    "Clicks (destination)", "CTR (destination)", "CPC (destination)", "Conversions",
    "Purchase value (website)", "Video views", "2-second video views",
    "6-second video views", "Video views at 100%", "Paid likes", "Paid comments",
    "Paid shares", "Paid follows", "Paid profile visits",
]  # fmt: skip
CAMPAIGNS = {"Invierno": "1801000000000001", "Rebajas": "1801000000000002"}
GROUPS = {"Amplio": "1802000000000001", "Retargeting": "1802000000000002"}
ADS = {  # ad → (id, campaign, ad group)
    "Abrigo": ("1803000000000001", "Invierno", "Amplio"),
    'Bufanda, la "buena"': ("1803000000000002", "Invierno", "Amplio"),
    "Botas": ("1803000000000003", "Rebajas", "Retargeting"),
}
# day, ad, cost, impressions, reach, clicks, conversions, purchase value, video views,
# 2 s, 6 s, 100 %, likes, comments, shares, follows, profile visits (None: `-`)
DELIVERY: list[tuple[Any, ...]] = [
    ("2026-12-31", "Abrigo", 1250.40, 98000, 71500, 1120, 35, 3150.00,
     52000, 30000, 12400, 4100, 610, 22, 31, 18, 240),
    ("2026-12-31", 'Bufanda, la "buena"', 310.00, 40500, 33000, 260, 6, 420.60,
     21000, 11000, 4300, 1500, 150, 4, 9, 3, 55),
    ("2026-12-31", "Botas", 89.90, 12000, None, 95, 0, None,
     7500, 4000, 1700, 600, 40, 1, 2, 0, 12),
    ("2027-01-01", "Abrigo", 980.10, 77000, 58000, 700, 21, 1899.90,
     40100, 23500, 9800, 3200, 480, 15, 20, 11, 190),
    ("2027-01-01", 'Bufanda, la "buena"', 0.00, 0, 0, 0, 0, None,
     0, 0, 0, 0, 0, 0, 0, 0, 0),
    ("2027-01-01", "Botas", 145.60, 18500, 15200, 160, 4, 380.00,
     11000, 6100, 2500, 880, 70, None, 3, 1, 20),
]  # fmt: skip
# How each row's money is written in the CSV: as Ads Manager shows it, or with the sign
# or code of the currency, thousands separated.
COST_TEXT = ["€1,250.40", "310.00", "EUR 89.90", "€980.10", "0.00", "145.60 EUR"]
VALUE_TEXT = ["3,150.00", "€420.60", "-", "1,899.90", "-", "€380.00"]


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _ratio(a: float, b: float | None, percent: bool = False) -> str:
    if not b:
        return "-"
    return f"{100 * a / b:.2f}%" if percent else f"{a / b:.2f}"


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


def ads_rows(text_money: bool) -> list[list[Any]]:
    """The report's rows: cells as text, as in the CSV (``text_money``), or numbers where
    a spreadsheet holds numbers, as in the XLSX."""
    out = []
    for k, (day, ad, cost, imp, reach, clicks, conv, value, *rest) in enumerate(DELIVERY):
        ad_id, campaign, group = ADS[ad]
        row: list[Any] = [day, campaign, CAMPAIGNS[campaign], group, GROUPS[group], ad, ad_id,
                          "conversions", "EUR"]  # fmt: skip
        if text_money:
            row += [COST_TEXT[k], _count(imp), _count(reach), _ratio(imp, reach)]
            row += [_count(clicks), _ratio(clicks, imp, True), _ratio(cost, clicks), _count(conv)]
            row += [VALUE_TEXT[k], *(_count(c) for c in rest)]
        else:
            row += [cost, imp, "-" if reach is None else reach, _ratio(imp, reach)]
            row += [clicks, _ratio(clicks, imp, True), _ratio(cost, clicks), conv]
            row += ["-" if value is None else value, *("-" if c is None else c for c in rest)]
        out.append(row)
    return out


def ads_total_row() -> list[str]:
    """The `Total of N results` row Ads Manager puts at the end (its sums are not data)."""
    return ["Total of 6 results", "-", "-", "-", "-", "-", "-", "-", "-", "€2,776.00", "246,000",
            "177,700", "1.38", "2,335", "0.95%", "1.19", "66", "€5,850.50", "131,600",
            "74,600", "30,700", "10,280", "1,350", "42", "65", "33", "517"]  # fmt: skip


def write_ads_csv(path: Path) -> Path:
    lines = [",".join(_csv_field(h) for h in ADS_HEADER)]
    lines += [",".join(_csv_field(c) for c in row) for row in ads_rows(True)]
    lines.append(",".join(_csv_field(c) for c in ads_total_row()))
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_ads_xlsx(path: Path) -> Path:
    path.write_bytes(xlsx([ADS_HEADER, *ads_rows(False), ads_total_row()]))
    return path


# spend 1250.40 + 310 + 89.90 + 980.10 + 0 + 145.60 = 2,776.00; impressions 98,000 +
# 40,500 + 12,000 + 77,000 + 18,500 = 246,000; reach 71,500 + 33,000 + 58,000 + 0 + 15,200
# = 177,700 (Botas' `-` on 31 Dec is null); clicks 1,120 + 260 + 95 + 700 + 160 = 2,335;
# conversions 35 + 6 + 21 + 4 = 66; purchase value 3,150 + 420.60 + 1,899.90 + 380 =
# 5,850.50; video views 52,000 + 21,000 + 7,500 + 40,100 + 11,000 = 131,600; 6 s 12,400 +
# 4,300 + 1,700 + 9,800 + 2,500 = 30,700; 100 % 4,100 + 1,500 + 600 + 3,200 + 880 =
# 10,280; likes 610 + 150 + 40 + 480 + 70 = 1,350, comments 22 + 4 + 1 + 15 = 42, shares
# 31 + 9 + 2 + 20 + 3 = 65; follows 18 + 3 + 11 + 1 = 33
PAID = {
    "spend": 2776.0,
    "impressions": 246_000,
    "paid_reach": 177_700,
    "frequency": 246_000 / 177_700,
    "clicks": 2335,
    "ctr": 2335 / 246_000,
    "cpc": 2776 / 2335,
    "cpm": 2776 / 246_000 * 1000,
    "conversions": 66,
    "conversion_rate": 66 / 2335,
    "cpa": 2776 / 66,
    "conversion_value": 5850.5,
    "roas": 5850.5 / 2776,
    "paid_views": 131_600,
    "view_rate_6s": 30_700 / 131_600,
    "completion_rate": 10_280 / 131_600,
    "paid_engagements": 1350 + 42 + 65,
    "paid_engagement_rate": 1457 / 246_000,
    "paid_follows": 33,
    "cost_per_follow": 2776 / 33,
}
# by campaign: Invierno 1250.40 + 310 + 980.10 + 0 = 2,540.50 on 215,500 impressions and
# 2,080 clicks, 62 conversions; Rebajas 89.90 + 145.60 = 235.50, 30,500, 255, 4
PAID_BY_CAMPAIGN = {
    "Invierno": {"spend": 2540.5, "ctr": 2080 / 215_500, "cpa": 2540.5 / 62},
    "Rebajas": {"spend": 235.5, "ctr": 255 / 30_500, "cpa": 235.5 / 4, "paid_reach": 15_200},
}

# -- paid by audience: an Ads Manager report by age and gender ---------------------------

# campaign Invierno on 31 Dec: age, gender, cost, impressions, clicks, conversions, value
SEGMENTS = [
    ("18-24", "Female", 400.00, 30000, 390, 12, 1080.00),
    ("18-24", "Male", 250.00, 21000, 180, 5, 430.00),
    ("25-34", "Female", 600.40, 52000, 610, 16, 1640.60),
    ("25-34", "Male", 310.00, 35500, 200, 8, None),
]
BY_AGE = {  # 18-24: 570 clicks of 51,000, 17 conversions for 650; 25-34: 810 of 87,500
    "18-24": {"ctr_by_age": 570 / 51_000, "cpa_by_age": 650 / 17},
    "25-34": {"ctr_by_age": 810 / 87_500, "cpa_by_age": 910.40 / 24},
}
BY_GENDER = {  # women 1,000 clicks of 82,000 and 28 conversions; men 380 of 56,500 and 13
    "Female": {"ctr_by_gender": 1000 / 82_000, "conversion_rate_by_gender": 28 / 1000},
    "Male": {"ctr_by_gender": 380 / 56_500, "conversion_rate_by_gender": 13 / 380},
}


def write_audience_csv(path: Path) -> Path:
    lines = ["By Day,Campaign name,Age,Gender,Currency,Cost,Impressions,Clicks (destination),"
             "CTR (destination),Conversions,Purchase value (website)"]  # fmt: skip
    for age, gender, cost, imp, clicks, conv, value in SEGMENTS:
        lines.append(
            f'2026-12-31,Invierno,{age},{gender},EUR,"{cost:,.2f}","{imp:,}",{clicks},'
            f"{100 * clicks / imp:.2f}%,{conv},{'-' if value is None else f'{value:.2f}'}"
        )
    lines.append('Total of 4 results,-,-,-,-,"1,560.40","138,500","1,380",1.00%,41,"3,150.60"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the same, as saved API answers -------------------------------------------------------

ADVERTISER = "7470000000000000001"


def _answer(data: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {"code": 0, "message": "OK", "request_id": request_id, "data": data}


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def write_api(folder: Path) -> Path:
    """Saved answers as TikTok sends them (every metric a string, `-` for none), saved
    with curl: no request beside them, so the source recognises each by its content."""
    folder.mkdir()
    basic = []
    for day, ad, cost, imp, reach, clicks, conv, value, vv, v2, v6, v100, *social in DELIVERY:
        ad_id, campaign, group = ADS[ad]
        likes, comments, shares, follows, visits = social
        metrics = {
            "campaign_name": campaign, "campaign_id": CAMPAIGNS[campaign],
            "adgroup_name": group, "adgroup_id": GROUPS[group], "ad_name": ad,
            "objective_type": "CONVERSIONS", "spend": _money(cost), "impressions": _number(imp),
            "reach": _number(reach), "clicks": _number(clicks), "conversion": _number(conv),
            "total_complete_payment_rate": _money(value), "video_play_actions": _number(vv),
            "video_watched_2s": _number(v2), "video_watched_6s": _number(v6),
            "video_views_p100": _number(v100), "likes": _number(likes),
            "comments": _number(comments), "shares": _number(shares),
            "follows": _number(follows), "profile_visits": _number(visits),
            "ctr": _ratio(100 * clicks, imp), "cpc": _ratio(cost, clicks),
        }  # fmt: skip
        basic.append({"dimensions": {"ad_id": ad_id, "stat_time_day": f"{day} 00:00:00"},
                      "metrics": metrics})  # fmt: skip
    pages = [basic[:4], basic[4:]]  # two pages of one report, in one file
    info = {"page_size": 4, "total_page": 2, "total_number": len(basic)}
    (folder / "basic.json").write_text(
        json.dumps(
            [
                _answer({"page_info": {"page": n, **info}, "list": page}, f"2027010409300{n}")
                for n, page in enumerate(pages, 1)
            ]
        ),
        encoding="utf-8",
    )
    (folder / "advertiser.json").write_text(
        json.dumps(
            _answer(
                {
                    "list": [
                        {
                            "advertiser_id": ADVERTISER,
                            "currency": "EUR",
                            "timezone": "Europe/Madrid",
                        }
                    ]
                },
                "20270104093000",
            )
        ),
        encoding="utf-8",
    )
    ages = {"18-24": "AGE_18_24", "25-34": "AGE_25_34"}
    audience = [
        {
            "dimensions": {
                "campaign_id": CAMPAIGNS["Invierno"],
                "stat_time_day": "2026-12-31 00:00:00",
                "age": ages[age],
                "gender": gender.upper(),
            },
            "metrics": {
                "campaign_name": "Invierno",
                "spend": _money(cost),
                "impressions": _number(imp),
                "clicks": _number(clicks),
                "conversion": _number(conv),
                "total_complete_payment_rate": _money(value),
            },
        }
        for age, gender, cost, imp, clicks, conv, value in SEGMENTS
    ]
    page = {"page": 1, "page_size": 1000, "total_page": 1, "total_number": len(audience)}
    (folder / "audience.json").write_text(
        json.dumps(_answer({"page_info": page, "list": audience}, "20270104093003")),
        encoding="utf-8",
    )
    days = ["2026-12-29", "2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]
    metrics = []
    for k, day in enumerate(days):
        entry: dict[str, Any] = {"date": day, "followers_count": [5000, 5040, 5035, 5100, 5180][k]}
        if k < 4:  # the last day is not counted yet: TikTok leaves the counts out
            entry.update(
                video_views=[1500, 2300, 900, 3100][k], profile_views=[12, 20, 7, 25][k],
                likes=[120, 180, 60, 260][k], comments=[8, -1, 3, 15][k], shares=[4, 6, 1, 9][k],
                unique_video_views=[1100, 1600, 700, 2000][k],
            )  # fmt: skip
        if k >= 3:
            counts = [[900, 1200, 1100], [950, 1250, 1000]][k - 3]
            entry["audience_activity"] = [
                {"hour": str(h), "count": c} for h, c in zip((19, 20, 21), counts, strict=True)
            ]
        metrics.append(entry)
    business = {
        "followers_count": 5180,
        "audience_genders": [{"gender": g, "percentage": p} for g, p in GENDER.items()],
        "audience_countries": [{"country": c, "percentage": p} for c, p in TERRITORY.items()],
        "metrics": metrics,
    }
    (folder / "business.json").write_text(
        json.dumps(_answer(business, "20270104093004")), encoding="utf-8"
    )
    videos = [
        {"item_id": vid, "caption": title, "share_url": LINK.format(vid),
         "create_time": int(dt.datetime.fromisoformat(posted).replace(tzinfo=dt.UTC).timestamp()),
         "video_views": views, "likes": likes, "comments": comments, "shares": shares}
        for vid, title, posted, views, likes, comments, shares in VIDEOS
    ]  # fmt: skip
    (folder / "videos.json").write_text(
        json.dumps(_answer({"videos": videos, "cursor": 3, "has_more": False}, "20270104093005")),
        encoding="utf-8",
    )
    return folder


# -- the checks --------------------------------------------------------------------------


def check(row: dict[str, Any], expected: dict[str, Any], where: str = "") -> None:
    for name, want in expected.items():
        if want is None:
            assert row[name] is None, f"{where} {name}"
        else:
            assert row[name] == pytest.approx(want, rel=1e-12), f"{where} {name}"


def test_studio_export_in_spanish(tmp_path: Path) -> None:
    source = ("--source", f"organic=tiktok-studio:{write_studio(tmp_path / 'studio')}")
    result = run(*source, kpis=(*ORGANIC, *AUDIENCE))
    check(one(result, "organic"), ORGANIC)
    check(one(result, "audience"), AUDIENCE)
    notices = "\n".join(result["notices"])
    assert "`undefined`" in notices  # the uncounted day is said, not hidden
    by_day = rows(run(*source, "--grain", "day", kpis=tuple(ORGANIC)), "organic")
    assert sorted(k[0] for k in by_day) == sorted(ORGANIC_BY_DAY)
    for day, expected in ORGANIC_BY_DAY.items():
        check(by_day[(day,)], expected, day)
    by_gender = rows(run(*source, "--by", "gender", kpis=("follower_share_by_gender",)),
                     "audience", ("gender",))  # fmt: skip
    assert {k[1]: v["follower_share_by_gender"] for k, v in by_gender.items()} == pytest.approx(
        GENDER
    )
    by_territory = rows(run(*source, "--by", "territory", kpis=("follower_share_by_territory",)),
                        "audience", ("territory",))  # fmt: skip
    shares = {k[1]: v["follower_share_by_territory"] for k, v in by_territory.items()}
    assert shares == pytest.approx({**TERRITORY, "Others": 0.2})


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_ads_manager_report(tmp_path: Path, kind: str) -> None:
    path = (write_ads_csv if kind == "csv" else write_ads_xlsx)(tmp_path / f"report.{kind}")
    source = ("--source", f"paid=tiktok-ads:{path}")
    result = run(*source, kpis=tuple(PAID))
    check(one(result, "paid"), PAID)
    assert any("1 `Total of N results` row left out" in n for n in result["notices"])
    by_campaign = rows(run(*source, "--by", "campaign", kpis=tuple(PAID)), "paid", ("campaign",))
    for campaign, expected in PAID_BY_CAMPAIGN.items():
        check(by_campaign[(None, campaign)], expected, campaign)
    by_ad = rows(run(*source, "--by", "ad", kpis=("spend",)), "paid", ("ad",))
    assert by_ad[(None, 'Bufanda, la "buena"')]["spend"] == pytest.approx(310)


def test_ads_manager_report_by_audience(tmp_path: Path) -> None:
    source = ("--source", f"paid=tiktok-ads:{write_audience_csv(tmp_path / 'audience.csv')}")
    by_age = rows(run(*source, "--by", "age", kpis=("ctr_by_age", "cpa_by_age")),
                  "paid_audience", ("age",))  # fmt: skip
    for age, expected in BY_AGE.items():
        check(by_age[(None, age)], expected, age)
    by_gender = rows(
        run(*source, "--by", "gender", kpis=("ctr_by_gender", "conversion_rate_by_gender")),
        "paid_audience",
        ("gender",),
    )
    for gender, expected in BY_GENDER.items():
        check(by_gender[(None, gender)], expected, gender)


def test_saved_api_answers(tmp_path: Path) -> None:
    folder = write_api(tmp_path / "api")
    source = ("--source", f"organic=tiktok-api:{folder}", "--source", f"paid=tiktok-api:{folder}")
    result = run(*source, kpis=(*ORGANIC, *AUDIENCE, *PAID))
    # the Business API has no new and returning viewers
    check(one(result, "organic"), {**ORGANIC, "new_viewer_share": None})
    check(one(result, "audience"), AUDIENCE)
    check(one(result, "paid"), PAID)
    by_territory = rows(run(*source, "--by", "territory", kpis=("follower_share_by_territory",)),
                        "audience", ("territory",))  # fmt: skip
    shares = {k[1]: v["follower_share_by_territory"] for k, v in by_territory.items()}
    assert shares == pytest.approx(TERRITORY)


def values(result: dict[str, Any]) -> dict[tuple[Any, ...], Any]:
    """Every KPI value of a run, keyed by table, period, breakdown and KPI."""
    out = {}
    for t in result["tables"]:
        for row in t["rows"]:
            key = (t["name"], row["period"], *(row[d] for d in t["dimensions"]))
            for kpi in t["kpis"]:
                out[(*key, kpi)] = row[kpi]
    return out


# What only one side has: new and returning viewers (the Studio export), TikTok's
# `Others` territory (the Studio export: the Business API lists countries only)
NOT_COMPARED = {
    "new_viewer_share", "new_viewers", "returning_viewers", "returning_viewer_share",
    "follower_share_by_territory",
}  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [[], ["--grain", "day"], ["--grain", "week", "--by", "campaign"], ["--by", "gender"],
     ["--by", "age", "--grain", "month"], ["--by", "hour"]],
    ids=lambda a: " ".join(a) or "total",
)  # fmt: skip
def test_the_three_ways_agree(tmp_path: Path, args: list[str]) -> None:
    """The whole catalogue: Studio export + Ads Manager CSV, + the XLSX, and the saved
    API answers give the same values, the same findings."""
    studio = write_studio(tmp_path / "studio")
    ads = tmp_path / "ads"
    ads.mkdir()
    write_ads_csv(ads / "report.csv")
    write_audience_csv(ads / "audience.csv")
    xlsx_ads = tmp_path / "ads_xlsx"
    xlsx_ads.mkdir()
    write_ads_xlsx(xlsx_ads / "report.xlsx")
    write_audience_csv(xlsx_ads / "audience.csv")
    api = write_api(tmp_path / "api")
    exports = run("--source", f"organic=tiktok-studio:{studio}", "--source",
                  f"paid=tiktok-ads:{ads}", *args)  # fmt: skip
    with_xlsx = run("--source", f"organic=tiktok-studio:{studio}", "--source",
                    f"paid=tiktok-ads:{xlsx_ads}", *args)  # fmt: skip
    answers = run("--source", f"organic=tiktok-api:{api}", "--source", f"paid=tiktok-api:{api}",
                  *args)  # fmt: skip
    want = values(exports)
    assert sum(v is not None for v in want.values()) > 20
    for got in (values(with_xlsx), values(answers)):
        keys = {k for k in want if k[-1] not in NOT_COMPARED and k[2:3] != ("Others",)}
        problems = [
            f"{k}: {want[k]!r} != {got.get(k)!r}"
            for k in sorted(keys, key=repr)
            if not _same(want[k], got.get(k, "missing"))
        ]
        assert not problems, "\n".join(problems[:30])
    findings = [(f["rule"], f["period"]) for f in exports["findings"]]
    assert findings == [(f["rule"], f["period"]) for f in answers["findings"]]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)
