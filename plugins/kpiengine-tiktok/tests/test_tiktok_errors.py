"""Malformed exports: exit code 2, a message naming the file, and the line and column
where they apply; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiktok_cli import fails, run, studio_csv, write_zip, xlsx

EPOCH = "1799056800"  # 2027-01-04 10:00:00 UTC
OVERVIEW_HEADER = '"Date","Video Views","Profile Views","Likes","Comments","Shares"'


def studio(tmp_path: Path, overview: bytes, name: str = "Overview.csv") -> Path:
    folder = tmp_path / "studio"
    folder.mkdir()
    write_zip(folder / f"Overview_2026-12-30_{EPOCH}_shop.zip", {name: overview})
    return folder


def studio_error(tmp_path: Path, overview: bytes, name: str = "Overview.csv") -> str:
    folder = studio(tmp_path, overview, name)
    return fails("--source", f"organic=tiktok-studio:{folder}", "--kpi", "organic_views")


# -- TikTok Studio ----------------------------------------------------------------------


def test_studio_text_in_a_number_column(tmp_path: Path) -> None:
    error = studio_error(
        tmp_path,
        studio_csv(
            OVERVIEW_HEADER,
            '"December 30","1000","10","100","5","2"',
            '"December 31","2000","20","150","lots","3"',
        ),
    )
    # line 3, column 34: where "lots" starts, after 4 fields of 13, 6, 4 and 5
    # characters, 4 commas and its opening quote
    assert f"Overview_2026-12-30_{EPOCH}_shop.zip:Overview.csv:3:34: error:" in error
    assert "`lots` in column `Comments` is not a number" in error
    assert '"December 31","2000","20","150","lots","3"' in error
    assert "\n" + " " * (4 + 33) + "^^^^\n" in error  # the caret under `lots`


def test_studio_missing_column(tmp_path: Path) -> None:
    error = studio_error(
        tmp_path,
        studio_csv(
            '"Date","Video Views","Profile Views","Comments","Shares"',
            '"December 30","1000","10","5","2"',
        ),
    )
    assert "Overview.csv:1:1: error: missing column `Likes`" in error


def test_studio_wrong_delimiter(tmp_path: Path) -> None:
    error = studio_error(
        tmp_path,
        studio_csv(
            '"Date";"Video Views";"Profile Views";"Likes";"Comments";"Shares"',
            '"December 30";"1000";"10";"100";"5";"2"',
        ),
    )
    assert (
        "Overview.csv:1:7: error: wrong delimiter: the header is separated by semicolons" in error
    )


def test_studio_empty_file(tmp_path: Path) -> None:
    error = studio_error(tmp_path, b"")
    assert "Overview.csv: the file is empty" in error


def test_studio_bad_date(tmp_path: Path) -> None:
    error = studio_error(
        tmp_path, studio_csv(OVERVIEW_HEADER, '"Smarch 32","1000","10","100","5","2"')
    )
    assert "Overview.csv:2:2: error: `Smarch 32` in column `Date` is not a date" in error


def test_studio_ragged_line(tmp_path: Path) -> None:
    error = studio_error(tmp_path, studio_csv(OVERVIEW_HEADER, '"December 30","1000","10","100"'))
    assert "Overview.csv:2:1: error: this line has 4 fields, the header has 6" in error


def test_studio_truncated_zip(tmp_path: Path) -> None:
    folder = studio(tmp_path, studio_csv(OVERVIEW_HEADER, '"December 30","1","1","1","1","1"'))
    zipped = folder / f"Overview_2026-12-30_{EPOCH}_shop.zip"
    zipped.write_bytes(zipped.read_bytes()[:-30])  # the download stopped early
    error = fails("--source", f"organic=tiktok-studio:{folder}", "--kpi", "organic_views")
    assert f"Overview_2026-12-30_{EPOCH}_shop.zip: not a valid zip file" in error
    assert "truncated" in error


def test_studio_xlsx_that_is_not_one(tmp_path: Path) -> None:
    error = studio_error(tmp_path, b"Date,Video Views\nAugust 9,1188\n", name="Overview.xlsx")
    assert "Overview.xlsx: not a valid XLSX workbook" in error


def test_studio_xlsx_text_in_a_number_cell(tmp_path: Path) -> None:
    book = xlsx(
        [
            ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
            ["August 9", "1188", "3", "118", "1", "0"],
            ["August 10", "1250", "4", "n/a", "1", "0"],
        ]
    )
    error = studio_error(tmp_path, book, name="Overview.xlsx")
    assert "Overview.xlsx:3:4: error: `n/a` in column `Likes` is not a number (cell D3)" in error


def test_studio_share_out_of_range(tmp_path: Path) -> None:
    folder = tmp_path / "studio"
    folder.mkdir()
    (folder / "FollowerGender.csv").write_bytes(
        studio_csv('"Gender","Distribution"', '"Female","155%"')
    )
    error = fails("--source", f"organic=tiktok-studio:{folder}", "--kpi", "organic_views")
    assert "FollowerGender.csv:2:11: error: `155%` in column `Distribution` is not a share" in error


def test_unknown_option(tmp_path: Path) -> None:
    folder = studio(tmp_path, studio_csv(OVERVIEW_HEADER))
    error = fails("--source", f"organic=tiktok-studio:{folder}?yaer=2026", "--kpi", "organic_views")
    assert "unknown option `yaer`" in error
    assert "`year`" in error


def test_missing_path() -> None:
    error = fails("--source", "organic=tiktok-studio:does/not/exist", "--kpi", "organic_views")
    assert "file or folder not found" in error


# -- Ads Manager ------------------------------------------------------------------------

ADS_HEADER = "By Day,Campaign name,Currency,Cost,Impressions,Clicks (destination),Conversions"


def ads_error(path: Path) -> str:
    return fails("--source", f"paid=tiktok-ads:{path}", "--kpi", "spend")


def test_ads_text_in_a_number_column(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        f"{ADS_HEADER}\n"
        '2026-03-01,Spring,USD,"1,200.50","100,000",900,10\n'
        '2026-03-02,Spring,USD,12abc,"90,000",800,9\n',
        encoding="utf-8",
    )
    error = ads_error(path)
    assert "report.csv:3:23: error: `12abc` in column `Cost` is not a number" in error
    assert "2026-03-02,Spring,USD,12abc," in error


def test_ads_text_in_a_count_column(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        f'{ADS_HEADER}\n2026-03-01,Spring,USD,1.00,"1,000",9,1\n2026-03-02,Spring,USD,2.00,12k,8,1\n',
        encoding="utf-8",
    )
    error = ads_error(path)
    # column 28: `12k` starts after `2026-03-02,Spring,USD,2.00,` (27 characters)
    assert "report.csv:3:28: error: `12k` in column `Impressions` is not a number" in error


def test_ads_text_in_a_column_the_kpis_do_not_read(tmp_path: Path) -> None:
    # `--kpi spend` reads no likes: the file is malformed all the same (column 36: after
    # `2026-03-02,Spring,USD,2.00,100,8,1,`, 35 characters)
    path = tmp_path / "report.csv"
    path.write_text(
        f"{ADS_HEADER},Paid likes\n2026-03-01,Spring,USD,1.00,100,9,1,4\n"
        "2026-03-02,Spring,USD,2.00,100,8,1,lots\n",
        encoding="utf-8",
    )
    assert "report.csv:3:36: error: `lots` in column `Paid likes` is not a number" in (
        ads_error(path)
    )


def test_ads_malformed_report_among_others(tmp_path: Path) -> None:
    # a delivery run still reads the folder's audience report, and stops at its bad line
    folder = tmp_path / "ads"
    folder.mkdir()
    (folder / "delivery.csv").write_text(
        f"{ADS_HEADER}\n2026-03-01,Spring,USD,1.00,100,9,1\n", encoding="utf-8"
    )
    (folder / "by_age.csv").write_text(
        "By Day,Campaign name,Age,Cost,Impressions,Clicks (destination)\n"
        "2026-03-01,Spring,18-24,1.00,100,9\n2026-03-01,Spring,25-34,1.00,100\n",
        encoding="utf-8",
    )
    error = ads_error(folder)
    assert "by_age.csv:3:1: error: malformed CSV: Expected Number of Columns: 6 Found: 5" in error


def test_ads_bad_date(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(f"{ADS_HEADER}\n03/01/2026,Spring,USD,1.00,100,1,0\n", encoding="utf-8")
    error = ads_error(path)
    assert "report.csv:2:1: error: `03/01/2026` in column `By Day` is not a date" in error


def test_ads_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("By Day,Campaign name,Cost,Clicks (destination)\n2026-03-01,S,1,1\n",
                    encoding="utf-8")  # fmt: skip
    error = ads_error(path)
    assert "report.csv:1:1: error: missing column `Impressions`" in error


def test_ads_without_a_date_column(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("Campaign name,Cost,Impressions,Clicks (destination)\nS,1,100,1\n",
                    encoding="utf-8")  # fmt: skip
    error = ads_error(path)
    assert "missing column `By Day`" in error
    assert "time dimension `By Day`" in error


def test_ads_wrong_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(ADS_HEADER.replace(",", "\t") + "\n2026-03-01\tS\tUSD\t1\t1\t1\t1\n",
                    encoding="utf-8")  # fmt: skip
    error = ads_error(path)
    assert "report.csv:1:7: error: wrong delimiter: the header is separated by tabs" in error


def test_ads_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"")
    assert "report.csv: the file is empty" in ads_error(path)


def test_ads_ragged_line(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(f"{ADS_HEADER}\n2026-03-01,S,USD,1,100,1,0\n2026-03-02,S,USD,1\n",
                    encoding="utf-8")  # fmt: skip
    error = ads_error(path)
    assert "report.csv:3:1: error: malformed CSV: Expected Number of Columns: 7 Found: 4" in error


def test_ads_unterminated_quote(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(f'{ADS_HEADER}\n2026-03-01,"Spring,USD,1,100,1,0\n', encoding="utf-8")
    error = ads_error(path)
    assert "report.csv:2:1: error: malformed CSV" in error
    assert "quote" in error


def test_ads_xlsx_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_text(f"{ADS_HEADER}\n2026-03-01,S,USD,1,100,1,0\n", encoding="utf-8")
    assert "report.xlsx: not a valid XLSX workbook" in ads_error(path)


def test_ads_empty_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"")
    assert "report.xlsx: the file is empty" in ads_error(path)


def test_ads_truncated_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    book = xlsx([ADS_HEADER.split(","), ["2026-03-01", "S", "USD", 1, 100, 1, 0]])
    path.write_bytes(book[: len(book) // 2])
    assert "report.xlsx: not a valid XLSX workbook" in ads_error(path)


def test_ads_xlsx_text_in_a_number_cell(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(
        xlsx(
            [
                ADS_HEADER.split(","),
                ["2026-03-01", "S", "USD", 1, 100, 1, 0],
                ["2026-03-02", "S", "USD", 1, "lots", 1, 0],
            ]
        )
    )
    error = ads_error(path)
    assert (
        "report.xlsx:3:5: error: `lots` in column `Impressions` is not a number (cell E3)" in error
    )


def test_ads_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(f"{ADS_HEADER}\n2026-03-01,Caf\xe9,USD,1,100,1,0\n".encode("latin-1"))
    error = ads_error(path)
    assert "report.csv" in error


@pytest.mark.parametrize("option", ["currency=dollars", "mixed_currency=maybe", "colour=red"])
def test_ads_bad_options(tmp_path: Path, option: str) -> None:
    path = tmp_path / "report.csv"
    path.write_text(f"{ADS_HEADER}\n2026-03-01,S,USD,1,100,1,0\n", encoding="utf-8")
    error = fails("--source", f"paid=tiktok-ads:{path}?{option}", "--kpi", "spend")
    assert option.split("=")[0] in error


def test_skipped_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        f"{ADS_HEADER}\n2026-03-01,S,USD,1,100,1,0\n-,S,USD,5,500,5,0\n"
        "Total of 2 results,-,-,6,600,6,0\n",
        encoding="utf-8",
    )
    result = run("--source", f"paid=tiktok-ads:{path}", kpis=("spend",))
    notices = "\n".join(result["notices"])
    assert "report.csv: 1 `Total of N results` row left out" in notices
    assert "report.csv: 1 row without a date left out" in notices


def test_ads_xlsx_value_outside_the_header(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(
        xlsx(
            [
                ADS_HEADER.split(","),
                ["2026-03-01", "S", "USD", 1, 100, 1, 0],
                ["2026-03-02", "S", "USD", 1, 100, 1, 0, "stray"],
            ]
        )
    )
    error = ads_error(path)
    assert "report.xlsx:3:8: error: a value outside the header's columns (cell H3)" in error


# -- saved API answers ------------------------------------------------------------------


def test_api_truncated_answer(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    # a download that stopped in the middle of the answer
    (folder / "report.json").write_text(
        '{"code": 0, "message": "OK", "data": {"list": [\n  {"dimensions": {"ad_id": "1",',
        encoding="utf-8",
    )
    error = fails("--source", f"paid=tiktok-api:{folder}", "--kpi", "spend")
    assert "report.json:2:" in error
    assert "not valid JSON" in error


def test_api_text_in_a_number(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    answer = {
        "code": 0, "message": "OK", "request_id": "r1",
        "data": {"page_info": {"page": 1, "total_page": 1},
                 "list": [{"dimensions": {"ad_id": "1", "stat_time_day": "2026-03-01 00:00:00"},
                           "metrics": {"spend": "1.000", "impressions": "lots"}}]},
    }  # fmt: skip
    (folder / "report.json").write_text(json.dumps(answer), encoding="utf-8")
    error = fails("--source", f"paid=tiktok-api:{folder}", "--kpi", "spend")
    assert "report.json" in error
    assert "metric `impressions`: 'lots' is not a number" in error
