"""The PostgreSQL fixtures give a real, reachable server."""

from __future__ import annotations

import sqlalchemy as sa


def test_postgres_url_connects(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
            version = connection.execute(sa.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    major = int(version.split(".")[0].split()[0])
    assert major >= 12, version


def test_postgres_db_is_a_fresh_database(postgres_db: str) -> None:
    engine = sa.create_engine(postgres_db)
    try:
        with engine.begin() as connection:
            name = connection.execute(sa.text("SELECT current_database()")).scalar_one()
            count_tables = (
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            tables = connection.execute(sa.text(count_tables)).scalar_one()
            connection.execute(sa.text("CREATE TABLE t (x integer)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
            total = connection.execute(sa.text("SELECT sum(x) FROM t")).scalar_one()
    finally:
        engine.dispose()
    assert name == sa.make_url(postgres_db).database
    assert name.startswith("kpi_")
    assert tables == 0
    assert total == 3
