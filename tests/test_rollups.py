"""The BI rollup marts.mv_sales_monthly_brand and the evening `refresh-rollups` step.

StarRocks (the TEST DOUBLE): dbt-starrocks builds it as a materialized view, the step refreshes
it, and its rows equal a GROUP BY over the fact. DuckDB: a table equal to the same GROUP BY,
current again after the next build, and the step is skipped. Only this model is built (`dbt build --select`), over a small
hand-made fact whose lines cover the measures' edge cases (credit notes, a retailer netting to
zero, lines without a retailer, two dates in one month), so the file stays fast.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from loader.settings import Settings
from pipeline import pipelines
from pipeline.dbt import run_dbt
from pipeline.rollups import refresh_rollups, refresh_rollups_step
from tests.starrocks_marts import sorted_rows

MODEL = "mv_sales_monthly_brand"
GRAIN = ["month_start", "zone_code", "region_code", "territory_code", "brand"]
COLUMNS = [*GRAIN, "net_sales", "qty", "invoice_lines", "billed_retailers"]
FACT_COLUMNS = (
    "invoice_no varchar(32), invoice_line int, invoice_date date, doc_type varchar(8), "
    "retailer_code varchar(32), zone_code varchar(32), region_code varchar(32), "
    "territory_code varchar(32), brand varchar(64), qty double, net_amount decimal(14,2)"
)
# (invoice_no, line, date, doc_type, retailer, zone, region, territory, brand, qty, net)
LINES = [
    # T1 / FEVICOL, January: R1 nets 70 (billed), R2 nets 0 (not billed), a line without a
    # retailer (counted in the sums, never as a retailer); 3 INV lines
    ("I1", 1, "2026-01-03", "INV", "R1", "Z1", "RG1", "T1", "FEVICOL", 10.0, "100.00"),
    ("C1", 1, "2026-01-28", "CRN", "R1", "Z1", "RG1", "T1", "FEVICOL", -3.0, "-30.00"),
    ("I2", 1, "2026-01-10", "INV", "R2", "Z1", "RG1", "T1", "FEVICOL", 5.0, "50.00"),
    ("C2", 1, "2026-01-11", "CRN", "R2", "Z1", "RG1", "T1", "FEVICOL", -5.0, "-50.00"),
    ("I3", 1, "2026-01-15", "INV", None, "Z1", "RG1", "T1", "FEVICOL", 2.0, "20.00"),
    # T1 / DRFIXIT, January: a credit note only (no INV line, nobody billed)
    ("C3", 1, "2026-01-20", "CRN", "R3", "Z1", "RG1", "T1", "DRFIXIT", -1.0, "-10.00"),
    # T2 / FEVICOL, February; an unknown territory and brand
    ("I4", 1, "2026-02-01", "INV", "R1", "Z2", "RG2", "T2", "FEVICOL", 1.5, "5.25"),
    ("I4", 2, "2026-02-27", "INV", "R9", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", 1.0, "1.00"),
]
LATE_LINE = ("I5", 1, "2026-01-30", "INV", "R2", "Z1", "RG1", "T1", "FEVICOL", 1.0, "7.00")

# The same measures written independently of the model: a window for each retailer's net.
EXPECTED_SQL = """
with lines as (
    select *, sum(net_amount) over (
        partition by date_trunc('month', invoice_date), zone_code, region_code,
            territory_code, brand, retailer_code
    ) as retailer_net
    from fact
)
select
    cast(date_trunc('month', invoice_date) as date) as month_start,
    zone_code, region_code, territory_code, brand,
    sum(net_amount) as net_sales,
    sum(qty) as qty,
    count(*) filter (where doc_type = 'INV') as invoice_lines,
    count(distinct retailer_code) filter (where retailer_net > 0) as billed_retailers
from lines
group by all
"""


def expected_rows(lines) -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"create table fact ({FACT_COLUMNS})")
        con.executemany(f"insert into fact values ({', '.join(['?'] * 11)})", lines)
        return con.execute(EXPECTED_SQL).fetchall()
    finally:
        con.close()


def values_sql(lines) -> str:
    def literal(v):
        if v is None:
            return "null"
        if isinstance(v, str):
            return "'" + v + "'"
        return str(v)

    return ", ".join("(" + ", ".join(literal(v) for v in line) + ")" for line in lines)


def by_grain(rows) -> dict[tuple, tuple]:
    return {tuple(str(v) for v in row[:5]): row[5:] for row in rows}


@pytest.fixture
def dbt_paths(tmp_path, monkeypatch):
    # a private target folder: other tests and developers use the project's own
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    return tmp_path


def build_model(settings: Settings):
    result = run_dbt(["build", "--select", MODEL], settings, timeout=300)
    assert result.ok, "\n".join(result.failures()) + "\n" + result.output_tail
    # the model and its data tests ran (not an empty selection)
    # (5 grain not_null, the measures' not_null_columns, billed <= lines, the unique grain)
    assert result.count("success") == 1 and result.count("pass") == 8, result.summary()
    return result


def test_the_evening_pipeline_ends_with_refresh_rollups():
    steps = pipelines.steps_for("evening", Settings(target="starrocks"))
    assert [s.name for s in steps][-1] == "refresh-rollups"
    assert "refresh-rollups" not in [s.name for s in pipelines.steps_for("morning", Settings())]


def test_starrocks_materialized_view_is_built_and_refreshed(fresh_starrocks_double, dbt_paths):
    double = fresh_starrocks_double
    env = double.env()
    settings = Settings(
        target="starrocks",
        duckdb_path=str(dbt_paths / "must-not-exist.duckdb"),
        starrocks_host=env["DATAWIZ_STARROCKS_HOST"],
        starrocks_query_port=int(env["DATAWIZ_STARROCKS_QUERY_PORT"]),
        starrocks_user=env["DATAWIZ_STARROCKS_USER"],
        starrocks_password=env["DATAWIZ_STARROCKS_PASSWORD"],
    )
    for database in ("staging", "marts"):
        double.engine.execute(f"create database if not exists {database}")
    double.engine.execute(
        f"create table marts.fct_secondary_sales ({FACT_COLUMNS}) "
        "duplicate key (invoice_no, invoice_line) distributed by hash (invoice_no) buckets 1"
    )
    double.engine.execute(f"insert into marts.fct_secondary_sales values {values_sql(LINES)}")

    # before the first morning build (`run all` on an empty warehouse): nothing to refresh yet
    before = refresh_rollups_step(settings)
    assert before.skipped and "not built yet" in before.detail, before

    build_model(settings)
    assert double.engine.table_meta("marts", MODEL).table_type == "MATERIALIZED_VIEW"
    _, listed = double.engine.execute(
        "select table_name, refresh_type, is_active from information_schema.materialized_views"
        " where table_schema = 'marts'"
    )
    assert listed == [(MODEL, "MANUAL", "true")], listed

    # a line that arrives after the build shows only after the refresh
    double.engine.execute(f"insert into marts.fct_secondary_sales values {values_sql([LATE_LINE])}")
    outcome = refresh_rollups_step(settings)
    assert outcome.ok and not outcome.skipped, outcome
    assert "marts.mv_sales_monthly_brand refreshed" in outcome.detail

    connection = double.connect(database="marts")
    try:
        cursor = connection.cursor()
        cursor.execute(f"select * from marts.{MODEL}")
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        connection.close()
    # and last, when the run that created the view started
    assert columns == [*COLUMNS, "_built_at"]
    assert all(row[-1] is not None for row in rows)
    rows = [row[:-1] for row in rows]
    assert sorted_rows(rows) == sorted_rows(expected_rows([*LINES, LATE_LINE]))
    # by hand, the group with every edge case: R1 and (after the late line) R2 are billed
    t1 = by_grain(rows)[("2026-01-01", "Z1", "RG1", "T1", "FEVICOL")]
    assert sorted_rows([t1]) == sorted_rows([(Decimal("97.00"), 10.0, 4, 2)])

    # the next morning build finds the view and replaces it (dbt-starrocks drops and re-creates)
    build_model(settings)
    assert double.engine.table_meta("marts", MODEL).table_type == "MATERIALIZED_VIEW"
    _, again = double.engine.execute(f"select * from marts.{MODEL}")
    assert sorted_rows([row[:-1] for row in again]) == sorted_rows(rows)


def test_duckdb_table_equals_the_group_by_and_refresh_is_skipped(dbt_paths):
    path = dbt_paths / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(f"create table marts.fct_secondary_sales ({FACT_COLUMNS})")
    con.execute(f"insert into marts.fct_secondary_sales values {values_sql(LINES)}")
    # the fact's write stamp, and the months of the landed versions the incremental build reads
    for column in ("_loaded_at", "_built_at"):
        con.execute(
            f"alter table marts.fct_secondary_sales add column {column} timestamp"
            " default timestamp '2026-01-02 05:00:00'"
        )
    con.execute("create schema staging")
    con.execute(
        "create view staging.int_fis_line_months as select invoice_no, invoice_line,"
        " cast(date_trunc('month', invoice_date) as date) as month_start, _loaded_at"
        " from marts.fct_secondary_sales"
    )
    con.close()
    settings = Settings(target="duckdb", duckdb_path=str(path))

    build_model(settings)
    con = duckdb.connect(str(path))
    try:
        kind = con.execute(
            "select table_type from information_schema.tables"
            " where table_schema = 'marts' and table_name = ?",
            [MODEL],
        ).fetchone()
        assert kind == ("BASE TABLE",)
        cur = con.execute(f"select * from marts.{MODEL}")
        # and last its incremental watermark
        assert [d[0] for d in cur.description] == [*COLUMNS, "_built_at"]
        cur = con.execute(f"select * exclude (_built_at) from marts.{MODEL}")
        assert sorted_rows(cur.fetchall()) == sorted_rows(expected_rows(LINES))
        t1 = by_grain(con.execute(f"select * exclude (_built_at) from marts.{MODEL}").fetchall())
        assert sorted_rows([t1[("2026-01-01", "Z1", "RG1", "T1", "FEVICOL")]]) == sorted_rows(
            [(Decimal("90.00"), 9.0, 3, 1)]
        )
        # a late line shows once the next build (the morning run, right after the facts)
        # has rebuilt the table
        # has rebuilt its month (written after the table's last build)
        con.execute(
            "insert into marts.fct_secondary_sales"
            # any time after the table's build
            " select *, timestamp '2026-01-02 05:00:00', timestamp '2100-01-01'"
            f" from (values {values_sql([LATE_LINE])})"
        )
    finally:
        con.close()
    build_model(settings)
    con = duckdb.connect(str(path))
    try:
        rows = con.execute(f"select * exclude (_built_at) from marts.{MODEL}").fetchall()
        assert sorted_rows(rows) == sorted_rows(expected_rows([*LINES, LATE_LINE]))
    finally:
        con.close()

    outcome = refresh_rollups_step(settings)
    assert outcome.skipped and outcome.ok
    assert "rebuilt with the facts" in outcome.detail and "\n" not in outcome.detail


class RecordingConnection:
    """A StarRocks connection that reports the rollup inactive (the double never makes a view
    inactive) and records the statements sent."""

    dialect = "starrocks"

    def __init__(self, is_active: str):
        self.is_active = is_active
        self.sent: list[str] = []

    def execute(self, sql, params=()):
        self.sent.append(sql)
        if "information_schema.materialized_views" in sql:
            assert params == ("marts", MODEL)
            return [(self.is_active, "base table fct_secondary_sales swapped")]
        return []


def test_an_inactive_rollup_is_activated_before_the_refresh():
    con = RecordingConnection("false")
    done, missing = refresh_rollups(con)
    assert missing == []
    assert con.sent[1:] == [
        f"alter materialized view `marts`.`{MODEL}` active",
        f"refresh materialized view `marts`.`{MODEL}` with sync mode",
    ]
    assert "re-activated" in done[0] and "swapped" in done[0]

    active = RecordingConnection("true")
    refresh_rollups(active)
    assert active.sent[1:] == [f"refresh materialized view `marts`.`{MODEL}` with sync mode"]
