"""The incremental sales facts (fct_secondary_sales, fct_primary_dispatch, dq_rejected_rows) and
the monthly relations built incrementally from them on DuckDB (mart_distribution_depth, the BI
rollup mv_sales_monthly_brand).

One scenario, built once for the module on a small generated sample (scale 0.01):

1. the first 40 days are landed and built from an empty warehouse;
2. three morning loads follow, landing the fact drops of the next days (one of them two days
   at once) and running the models incrementally; they also land corrections that move held
   invoice lines across months: an October line to November (October changes with no row of
   the run dated in it), one line twice (its months change, and the one it leaves last is left
   empty), one to thirteen months back (last year for a month that no line of the run
   touches). After each morning the monthly relations are compared with a full refresh of them
   (in a copy of the warehouse);
3. an evening load adds a material that facts already held as unknown to the current material
   drop. First only dim_material is rebuilt, without recording the change: a run of the
   incremental models alone (not the morning build, which records it first) without new fact
   files rewrites nothing (only changes recorded by int_master_data_changes reach held
   facts). Then the changes are recorded (int_master_data_loads and
   int_master_data_changes, as the evening build does after the dimensions): the next morning
   enriches again exactly the facts of that material, which fixes them;
4. two real evenings (`tag:evening` built, then a morning run without new fact files): a
   customer drop deactivates a retailer, after which the morning rewrites no fact but rebuilds
   every month of the distribution mart (a smaller universe in every month of its territory);
   then a hierarchy drop moves a TSR to another territory from a day of the scenario on, after
   which the morning enriches again that TSR's facts and no other;
5. the incremental results are copied aside and the models rebuilt with --full-refresh.

The tests then compare the two builds row for row and reconcile the facts with the landed rows.
dbt runs in-process (dbtRunner): importing dbt costs more than the runs themselves.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loader.datasets import load_datasets
from loader.settings import PROJECT_ROOT, Settings
from pipeline.pipelines import load_step

pytestmark = pytest.mark.slow

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
FACT_MODELS = ("fct_secondary_sales", "fct_primary_dispatch", "dq_rejected_rows")
MONTHLY_MODELS = ("mart_distribution_depth", "mv_sales_monthly_brand")
# int_fis_line_months: the months each invoice line had, which the monthly models read
INCREMENTAL_MODELS = (*FACT_MODELS, "int_fis_line_months", *MONTHLY_MODELS)
# where each model lives (the rest: marts)
SCHEMAS = {"int_fis_line_months": "staging"}
# lineage of the build, not data: when the run that wrote a row started, and the master data
# that last enriched it (a row of members no evening changed keeps an older one; a full refresh
# stamps every row with the current one)
BUILD_COLUMNS = ("_built_at", "_master_data_loaded_at")
BASE_DAYS = 40
EXTRA_DAYS = 4
END = date(2026, 11, 26)  # last day of the initial build
# morning runs after the initial build: which extra days each one lands (two drops in one run)
MORNING_BATCHES = ((1,), (2, 3), (4,))
FIX_BRAND = "TESTBRAND-LATE"


def _drop_date(rel: Path) -> date | None:
    part = rel.parts[1] if len(rel.parts) > 2 else ""
    return date.fromisoformat(part[3:]) if part.startswith("dt=") else None


def _copy_drops(generated: Path, landing: Path, datasets: set[str], days: set[date]) -> int:
    """Copy the files of `datasets` whose dt= is one of `days` (junk files included)."""
    copied = 0
    for path in sorted(generated.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(generated)
        if rel.parts[0] in datasets and _drop_date(rel) in days:
            dest = landing / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            copied += 1
    return copied


@dataclass
class Scenario:
    duckdb_path: Path
    fixed_material: str
    fixed_rows: int
    # the morning after dim_material alone: rows it wrote, facts of the material still unknown
    rewritten_unrecorded: int
    unknown_unrecorded: int
    # the morning after the changes were recorded: rows it wrote, rows the fact holds
    rewritten_rows: int
    fact_rows: int
    # the TSR the real evening moved (code, from, new territory, its facts), and the rows the
    # morning after that evening wrote
    moved_tsr: tuple[str, date, str, int]
    rewritten_after_evening: int
    # the evening before, which deactivated a retailer: rows the morning after wrote, and rows of
    # the distribution mart left with another universe than the master's
    rewritten_after_deactivation: int
    stale_universe: int
    # after each morning before the evenings: (morning, model, rows of the model, rows only as
    # the mornings left them, rows only in a full refresh of the monthly relations)
    monthly_mismatches: list[tuple[str, str, int, int, int]]
    moved: tuple[str, int, date, date]
    last_year: tuple[str, int, date, date]
    morning_rows: list[int] = field(default_factory=list)

    def query(self, sql: str) -> list[tuple]:
        # not read_only: dbt-duckdb (in-process) may still hold the file open, and DuckDB refuses
        # a second connection to it with another configuration
        con = duckdb.connect(str(self.duckdb_path))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, monkeypatch_module) -> Scenario:
    from dbt.cli.main import dbtRunner

    from loader.sample import generate

    work = tmp_path_factory.mktemp("facts")
    generated, landing = work / "generated", work / "landing"
    duckdb_path = work / "warehouse.duckdb"
    monkeypatch_module.setenv("DATAWIZ_DUCKDB_PATH", str(duckdb_path))
    monkeypatch_module.setenv("DATAWIZ_TARGET", "duckdb")
    settings = Settings(source=str(landing), target="duckdb", duckdb_path=str(duckdb_path))

    def dbt(*args: str) -> None:
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir", str(DBT_PROJECT),
                "--profiles-dir", str(DBT_PROJECT),
                "--target-path", str(work / "target"),
                "--log-path", str(work / "logs"),
                "--quiet",
            ]
        )  # fmt: skip
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception or result.result}"

    def land(window: str) -> int:
        outcome = load_step(settings, window)
        assert outcome.ok, outcome.detail
        return outcome.rows

    datasets = load_datasets()
    facts = {name for name, d in datasets.items() if d.window == "morning"}
    dims = set(datasets) - facts
    start = END - timedelta(days=BASE_DAYS - 1)
    generate(
        generated, days=BASE_DAYS + EXTRA_DAYS, seed=7, end=END + timedelta(EXTRA_DAYS), scale=0.01
    )
    base_days = {start + timedelta(i) for i in range(BASE_DAYS)}

    # 1. the first 40 days, from an empty warehouse
    assert _copy_drops(generated, landing, dims | facts, base_days)
    land("all")
    dbt("run", "--select", *(f"+{m}" for m in INCREMENTAL_MODELS))

    def compare_monthly_with_full_refresh(label: str) -> list[tuple[str, str, int, int, int]]:
        """The monthly relations as the mornings left them against a full refresh of them at
        this point, in a copy of the warehouse: later mornings rebuild most months, which would
        hide a month a morning failed to rebuild."""
        copy = work / f"monthly-{len(monthly_mismatches)}.duckdb"
        con = duckdb.connect(str(duckdb_path))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        shutil.copy2(duckdb_path, copy)
        con = duckdb.connect(str(copy))
        try:
            con.execute("create schema mornings")
            for model in MONTHLY_MODELS:
                con.execute(f"create table mornings.{model} as select * from marts.{model}")
        finally:
            con.close()
        monkeypatch_module.setenv("DATAWIZ_DUCKDB_PATH", str(copy))
        try:
            dbt("run", "--select", *MONTHLY_MODELS, "--full-refresh")
        finally:
            monkeypatch_module.setenv("DATAWIZ_DUCKDB_PATH", str(duckdb_path))
        found = []
        con = duckdb.connect(str(copy))
        try:
            for model in MONTHLY_MODELS:
                columns = ", ".join(
                    name
                    for (name,) in con.execute(
                        "select column_name from information_schema.columns"
                        " where table_schema = 'marts' and table_name = ?"
                        " order by ordinal_position",
                        [model],
                    ).fetchall()
                    if name not in BUILD_COLUMNS
                )
                mornings, fresh = f"mornings.{model}", f"marts.{model}"
                # the rows of the full refresh, which are newer than the mornings' (0 rows, which
                # fails the test, if it did not run here)
                (rows,) = con.execute(
                    f"select count(*) from {fresh} where _built_at > "
                    f"(select max(_built_at) from {mornings})"
                ).fetchone()
                (only_mornings,) = con.execute(
                    f"select count(*) from (select {columns} from {mornings}"
                    f" except all select {columns} from {fresh})"
                ).fetchone()
                (only_fresh,) = con.execute(
                    f"select count(*) from (select {columns} from {fresh}"
                    f" except all select {columns} from {mornings})"
                ).fetchone()
                found.append((label, model, rows, only_mornings, only_fresh))
        finally:
            con.close()
        return found

    # 2. morning loads of the following days, incremental
    morning_rows = []
    monthly_mismatches = []
    moved = None
    for number, batch in enumerate(MORNING_BATCHES):
        days = {END + timedelta(i) for i in batch}
        assert _copy_drops(generated, landing, facts, days)
        if number == 0:
            # an October line moves to November: October changes although no row written by
            # this morning is dated in it (only the line's landed versions say so)
            _land_month_move(
                duckdb_path, landing, max(days),
                "f.invoice_date between ? and ?", [date(2026, 10, 18), date(2026, 10, 31)], 949,
                months_back=-1,
            )  # fmt: skip
        if number == 1:
            # an early November line moves to September, a month without any line (both
            # months change); early, so that no later drop of the sample re-sends it
            moved = _land_month_move(
                duckdb_path, landing, max(days),
                "f.invoice_date between ? and ?", [END.replace(day=1), END.replace(day=10)], 950,
                months_back=2,
            )  # fmt: skip
        if number == 2:
            # the same line moves on to August: September is left without any line (its rows
            # must go), and the line has now been in three months
            moved = _land_month_move(
                duckdb_path, landing, max(days), "f.invoice_no = ? and f.invoice_line = ?",
                list(moved[:2]), 951,
            )  # fmt: skip
            # a November line of a TSR unknown to the hierarchy moves thirteen months back, to
            # October 2025: that is last year for October 2026, whose net_sales_ly changes
            # although no line of this run was ever in October 2026
            last_year = _land_month_move(
                duckdb_path, landing, max(days),
                "f.territory_code = 'UNKNOWN' and f.invoice_date >= ? and f.brand in ("
                " select brand from marts.fct_secondary_sales"
                " where territory_code = 'UNKNOWN' and month(invoice_date) = 10)",
                [END.replace(day=1)], 952, months_back=13,
            )  # fmt: skip
        morning_rows.append(land("morning"))
        dbt("run", "--select", *INCREMENTAL_MODELS)
        monthly_mismatches.extend(compare_monthly_with_full_refresh(f"morning {number + 1}"))

    # 3. a material the facts hold as unknown arrives in the current material drop (evening),
    #    then a morning run without new fact files
    con = duckdb.connect(str(duckdb_path))
    try:
        fixed_material, fixed_rows = con.execute(
            "select material_code, count(*) from marts.fct_secondary_sales "
            "where is_unknown_material and material_code is not null "
            "group by material_code order by count(*) desc, material_code limit 1"
        ).fetchone()
        current_drop = con.execute(
            "select max(split_part(_source_file, '/', 2)) from raw.material_master"
        ).fetchone()[0]
    finally:
        con.close()
    master = datasets["material_master"].schema
    row = {c: None for c in master.names} | {
        "material_code": fixed_material,
        "material_desc": "late addition",
        "brand": FIX_BRAND,
        "pack_size": 1.0,
        "mrp": Decimal("1.00"),
        "is_active": True,
        "updated_at": datetime(2026, 12, 1, 20, 0),
    }
    path = landing / "material_master" / current_drop / "part-900.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=master), path)
    land("evening")

    def written_since(built: datetime) -> int:
        con = duckdb.connect(str(duckdb_path))
        try:
            return con.execute(
                "select count(*) from marts.fct_secondary_sales where _built_at > ?", [built]
            ).fetchone()[0]
        finally:
            con.close()

    def last_build() -> datetime:
        con = duckdb.connect(str(duckdb_path))
        try:
            return con.execute("select max(_built_at) from marts.fct_secondary_sales").fetchone()[0]
        finally:
            con.close()

    def evening_then_morning() -> int:
        """A real evening (land, build `tag:evening`), then a morning without new fact files:
        the sales fact rows that morning wrote."""
        land("evening")
        dbt("run", "--select", "tag:evening")
        land("morning")
        built = last_build()
        dbt("run", "--select", *INCREMENTAL_MODELS)
        return written_since(built)

    # the dimension alone, its change not recorded: the morning enriches no held fact again
    dbt("run", "--select", "dim_material")
    land("morning")
    built = last_build()
    dbt("run", "--select", *INCREMENTAL_MODELS)
    rewritten_unrecorded = written_since(built)
    con = duckdb.connect(str(duckdb_path))
    try:
        (unknown_unrecorded,) = con.execute(
            "select count(*) from marts.fct_secondary_sales"
            " where is_unknown_material and material_code = ?",
            [fixed_material],
        ).fetchone()
        # the monthly relations as the mornings left them (this morning wrote no fact row),
        # before the evenings below: the deactivation makes the next morning rebuild every
        # month of the distribution mart, which would hide a month the mornings failed to
        # rebuild
        con.execute("create schema before_evening")
        for model in MONTHLY_MODELS:
            con.execute(f"create table before_evening.{model} as select * from marts.{model}")
    finally:
        con.close()
    monthly_mismatches.extend(compare_monthly_with_full_refresh("dimension alone"))
    # then the changes, as the evening build records them after the dimensions
    dbt("run", "--select", "int_master_data_loads", "int_master_data_changes")
    built = last_build()
    dbt("run", "--select", *INCREMENTAL_MODELS)
    rewritten = written_since(built)

    con = duckdb.connect(str(duckdb_path))
    try:
        (fact_rows,) = con.execute("select count(*) from marts.fct_secondary_sales").fetchone()
        # an active retailer of a territory with sales in every month of the sample
        customer = con.execute(
            "select c.* exclude (_source_file, _source_row, _loaded_at)"
            " from raw.customer_master as c"
            " join marts.dim_customer as d on upper(trim(c.customer_code)) = d.customer_code"
            " where d.is_active and d.customer_type = 'RETAILER' and d.territory_code in ("
            "  select territory_code from marts.mart_distribution_depth"
            "  group by territory_code having count(distinct month_start) >= 2)"
            " and c._source_file = (select max(_source_file) from raw.customer_master)"
            " order by c.customer_code limit 1"
        )
        names = [d[0] for d in customer.description]
        retailer = dict(zip(names, customer.fetchone(), strict=True))
        customer_drop = con.execute(
            "select max(split_part(_source_file, '/', 2)) from raw.customer_master"
        ).fetchone()[0]
        # the TSR with the most facts, and its current version in the current hierarchy drop
        (moved_tsr,) = con.execute(
            "select tsr_code from marts.fct_secondary_sales where territory_code <> 'UNKNOWN'"
            " group by tsr_code order by count(*) desc, tsr_code limit 1"
        ).fetchone()
        version = con.execute(
            "select h.* exclude (_source_file, _source_row, _loaded_at)"
            " from raw.tsr_hierarchy as h"
            " where upper(trim(h.tsr_code)) = ?"
            " and h._source_file = (select max(_source_file) from raw.tsr_hierarchy)"
            " order by h.effective_from desc limit 1",
            [moved_tsr],
        )
        names = [d[0] for d in version.description]
        tsr_version = dict(zip(names, version.fetchone(), strict=True))
        other = con.execute(
            "select territory_code, territory_name, region_code, zone_code from raw.tsr_hierarchy"
            " where territory_code <> ? order by territory_code limit 1",
            [tsr_version["territory_code"]],
        )
        names = [d[0] for d in other.description]
        tsr_version |= dict(zip(names, other.fetchone(), strict=True))
        tsr_drop = con.execute(
            "select max(split_part(_source_file, '/', 2)) from raw.tsr_hierarchy"
        ).fetchone()[0]
        (tsr_rows,) = con.execute(
            "select count(*) from marts.fct_secondary_sales where tsr_code = ?", [moved_tsr]
        ).fetchone()
    finally:
        con.close()

    # 4. a real evening: the customer drop deactivates that retailer (a smaller universe in
    #    every month of its territory); the evening build runs, then a morning without new facts.
    #    Then another: the hierarchy drop moves the TSR to another territory from a day of the
    #    scenario on
    retailer |= {"is_active": False, "updated_at": datetime(2026, 12, 2, 20, 0)}
    path = landing / "customer_master" / customer_drop / "part-900.parquet"
    schema = datasets["customer_master"].schema
    pq.write_table(pa.Table.from_pylist([retailer], schema=schema), path)
    rewritten_after_deactivation = evening_then_morning()
    con = duckdb.connect(str(duckdb_path))
    try:
        # rows of the distribution mart whose universe is not the current master's
        (stale_universe,) = con.execute(
            "with universe as (select territory_code, count(*) as outlets from marts.dim_customer"
            " where customer_type = 'RETAILER' and is_active group by territory_code)"
            " select count(*) from marts.mart_distribution_depth as dd"
            " left join universe using (territory_code)"
            " where dd.territory_code <> 'UNKNOWN'"
            " and dd.universe_outlets <> coalesce(universe.outlets, 0)"
        ).fetchone()
    finally:
        con.close()
    tsr_moved_on = END - timedelta(days=10)
    tsr_version |= {"effective_from": tsr_moved_on, "updated_at": datetime(2026, 12, 2, 20, 0)}
    path = landing / "tsr_hierarchy" / tsr_drop / "part-900.parquet"
    schema = datasets["tsr_hierarchy"].schema
    pq.write_table(pa.Table.from_pylist([tsr_version], schema=schema), path)
    rewritten_after_evening = evening_then_morning()

    # 5. incremental results aside, then a full refresh of the same models
    con = duckdb.connect(str(duckdb_path))
    try:
        con.execute("create schema incremental")
        for model in INCREMENTAL_MODELS:
            schema = SCHEMAS.get(model, "marts")
            con.execute(f"create table incremental.{model} as select * from {schema}.{model}")
    finally:
        con.close()
    dbt("run", "--select", *INCREMENTAL_MODELS, "--full-refresh")
    return Scenario(
        duckdb_path,
        fixed_material,
        fixed_rows,
        rewritten_unrecorded,
        unknown_unrecorded,
        rewritten,
        fact_rows,
        (moved_tsr, tsr_moved_on, tsr_version["territory_code"].strip().upper(), tsr_rows),
        rewritten_after_evening,
        rewritten_after_deactivation,
        stale_universe,
        monthly_mismatches,
        moved,
        last_year,
        morning_rows,
    )


def _land_month_move(
    duckdb_path: Path,
    landing: Path,
    day: date,
    where: str,
    params: list,
    part: int,
    months_back: int = 1,
) -> tuple[str, int, date, date]:
    """Land, in the fis drop of `day`, a later version of the held INV line that `where` picks
    (on the fact `f`) dated `months_back` months before its month: (invoice_no, invoice_line,
    old date, new date)."""
    con = duckdb.connect(str(duckdb_path))
    try:
        cursor = con.execute(
            "select * exclude (_source_file, _source_row, _loaded_at) from raw.fis as r "
            "where exists (select 1 from marts.fct_secondary_sales as f "
            "  where f.invoice_no = r.invoice_no and f.invoice_line = r.invoice_line "
            "  and f.source_file = r._source_file and f.source_row = r._source_row "
            f"  and f.doc_type = 'INV' and {where}) "
            "order by invoice_date desc, invoice_no, invoice_line limit 1",
            params,
        )
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    assert len(rows) == 1, where
    held = dict(zip(names, rows[0], strict=True))
    old = held["invoice_date"]
    first = old.replace(day=1)
    month = first.year * 12 + first.month - 1 - months_back
    new = date(month // 12, month % 12 + 1, min(old.day, 28))
    fis = load_datasets()["fis"].schema
    record = held | {
        "invoice_date": new,
        "updated_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=23),
    }
    path = landing / "fis" / f"dt={day.isoformat()}" / f"part-{part}.parquet"
    pq.write_table(pa.Table.from_pylist([record], schema=fis), path)
    return (record["invoice_no"], record["invoice_line"], old, new)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_morning_loads_reached_the_facts(scenario):
    assert all(rows > 0 for rows in scenario.morning_rows), scenario.morning_rows
    # the extra days' drops reached the facts (every fis drop; a small fid drop may hold only a
    # re-sent older version, which rightly loses, so for fid some of them)
    extra_days = {
        f"dt={(END + timedelta(i)).isoformat()}" for batch in MORNING_BATCHES for i in batch
    }
    for dataset, table in (("fis", "fct_secondary_sales"), ("fid", "fct_primary_dispatch")):
        landed = {d for (d,) in scenario.query(
            f"select distinct split_part(_source_file, '/', 2) from raw.{dataset}"
        )}  # fmt: skip
        in_facts = {d for (d,) in scenario.query(
            f"select distinct split_part(source_file, '/', 2) from incremental.{table}"
        )}  # fmt: skip
        assert landed & extra_days & in_facts, dataset
        if dataset == "fis":
            assert extra_days <= in_facts


@pytest.mark.parametrize("model", INCREMENTAL_MODELS)
def test_incremental_equals_full_refresh(scenario, model):
    schema = SCHEMAS.get(model, "marts")
    (rows,) = scenario.query(f"select count(*) from {schema}.{model}")[0]
    assert rows > 0
    columns = ", ".join(
        name
        for (name,) in scenario.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{model}' order by ordinal_position"
        )
        if name not in BUILD_COLUMNS
    )
    full, incremental = f"{schema}.{model}", f"incremental.{model}"
    only_incremental = scenario.query(
        f"select {columns} from {incremental} except all select {columns} from {full}"
    )
    only_full = scenario.query(
        f"select {columns} from {full} except all select {columns} from {incremental}"
    )
    assert only_incremental == [], f"{len(only_incremental)} rows only in the incremental build"
    assert only_full == [], f"{len(only_full)} rows only in the full refresh"


def test_each_morning_left_the_monthly_relations_equal_to_a_full_refresh(scenario):
    """After each morning before the evenings, the monthly relations equal a full refresh of them
    at that point (the evenings make later runs rebuild most months, which would hide a month a
    morning failed to rebuild in the final comparison)."""
    assert len(scenario.monthly_mismatches) == (len(MORNING_BATCHES) + 1) * len(MONTHLY_MODELS)
    for label, model, rows, only_mornings, only_fresh in scenario.monthly_mismatches:
        assert rows > 0, (label, model)
        assert (only_mornings, only_fresh) == (0, 0), (label, model)


@pytest.mark.parametrize(
    ("dataset", "fact", "key", "rejected"),
    [
        (
            "fis",
            "fct_secondary_sales",
            "invoice_no, invoice_line",
            "invoice_no is null or invoice_line is null or invoice_date is null "
            "or doc_type is null or doc_type not in ('INV', 'CRN')",
        ),
        (
            "fid",
            "fct_primary_dispatch",
            "delivery_no, delivery_line",
            "delivery_no is null or delivery_line is null or dispatch_date is null",
        ),
    ],
    ids=["fis", "fid"],
)
def test_every_landed_row_is_a_fact_a_superseded_version_or_a_reject(
    scenario, dataset, fact, key, rejected
):
    """R2/R3 counts, with R2 written out here independently of the models."""
    landed, rejects, valid, valid_keys = scenario.query(
        f"""
        with landed as (select * from staging.stg_landing__{dataset}),
        valid as (select * from landed where not ({rejected}))
        select
            (select count(*) from landed),
            (select count(*) from landed where {rejected}),
            (select count(*) from valid),
            (select count(*) from (select distinct {key} from valid))
        """
    )[0]
    (facts,) = scenario.query(f"select count(*) from incremental.{fact}")[0]
    (dq,) = scenario.query(
        f"select count(*) from incremental.dq_rejected_rows where dataset = '{dataset}'"
    )[0]
    superseded = valid - valid_keys
    assert rejects > 0 and superseded > 0, "the sample should hold rejects and corrections"
    assert dq == rejects
    assert facts == valid_keys
    assert landed == facts + dq + superseded
    # every fact and every reject is a landed row
    orphans = scenario.query(
        f"""
        select count(*) from (
            select source_file, source_row, _loaded_at from incremental.{fact}
            union all
            select source_file, source_row, _loaded_at from incremental.dq_rejected_rows
            where dataset = '{dataset}'
        ) as kept
        anti join staging.stg_landing__{dataset} as landed
            on kept.source_file = landed._source_file
            and kept.source_row = landed._source_row
            and kept._loaded_at = landed._loaded_at
        """
    )[0][0]
    assert orphans == 0


def test_unknown_material_is_fixed_by_a_later_master_drop(scenario):
    assert scenario.fixed_rows > 0
    rows = scenario.query(
        "select is_unknown_material, brand, count(*) from incremental.fct_secondary_sales "
        f"where material_code = '{scenario.fixed_material}' group by all"
    )
    assert rows == [(False, FIX_BRAND, scenario.fixed_rows)]
    # and no fact is left flagged unknown for a material that the master now has
    stale = scenario.query(
        "select count(*) from incremental.fct_secondary_sales as f "
        "join marts.dim_material as m on f.material_code = m.material_code "
        "where f.is_unknown_material"
    )[0][0]
    assert stale == 0


def test_the_scenario_moves_lines_across_months_and_years(scenario):
    """What the monthly relations (compared with a full refresh above) had to get right: a line
    moved twice holds its last date and left a month empty, which they no longer show; a line
    moved to last year gave a month its net_sales_ly."""
    invoice_no, invoice_line, _, new = scenario.moved
    rows = scenario.query(
        "select invoice_date from incremental.fct_secondary_sales "
        f"where invoice_no = '{invoice_no}' and invoice_line = {invoice_line}"
    )
    assert rows == [(new,)]
    emptied = new.replace(day=1) + timedelta(days=31)
    emptied = emptied.replace(day=1)  # the month it left last: no line, so no row any more
    for schema in ("before_evening", "incremental"):
        for model in MONTHLY_MODELS:
            assert scenario.query(
                f"select count(*) from {schema}.{model} where month_start = '{emptied}'"
            ) == [(0,)], (schema, model)
    # the month a year after the line's new date: rebuilt by the morning, although none of
    # its own lines changed (checked before the evening, which rebuilds every month)
    _, _, _, year_back = scenario.last_year
    ly_month = year_back.replace(day=1).replace(year=year_back.year + 1)
    ly = scenario.query(
        "select net_sales_ly from before_evening.mart_distribution_depth as dd"
        f" where month_start = '{ly_month}' and net_sales_ly is not null"
    )
    assert ly, f"no {ly_month} row with last year's sales"
    expected = scenario.query(
        "select month_start, territory_code, brand, net_sales"
        " from before_evening.mart_distribution_depth"
        f" where month_start = '{year_back.replace(day=1)}'"
    )
    assert sorted(v for (v,) in ly) == sorted(row[3] for row in expected)


def test_an_evening_build_enriches_again_only_the_facts_of_changed_members(scenario):
    """After the real evening build (a retailer deactivated, a TSR moved to another territory),
    the morning rewrote the moved TSR's facts and no other: deactivating a retailer changes no
    fact (it stays a known customer), only the universe of its territory. The moved facts took
    the new territory from the day of the move; the comparison with a full refresh above checks
    every other column and row."""
    tsr, moved_on, territory, tsr_rows = scenario.moved_tsr
    assert tsr_rows > 0
    assert scenario.rewritten_after_evening == tsr_rows < scenario.fact_rows
    rows = scenario.query(
        f"select invoice_date >= '{moved_on}', territory_code = '{territory}', count(*)"
        f" from incremental.fct_secondary_sales where tsr_code = '{tsr}'"
        " group by all order by all"
    )
    assert [r[:2] for r in rows] == [(False, False), (True, True)], rows


def test_a_changed_universe_reaches_every_month_of_the_distribution_mart(scenario):
    """The evening that deactivated a retailer changed no fact (it is still a known customer):
    the morning after it rewrote none, but rebuilt every month of the distribution mart, whose
    rows all carry the universe of the current master (R8), not only the months of new facts."""
    assert scenario.rewritten_after_deactivation == 0
    assert scenario.stale_universe == 0


def test_held_facts_are_enriched_again_once_the_changes_are_recorded(scenario):
    """The morning after dim_material alone (its change not recorded by int_master_data_changes)
    wrote no fact row and left the facts of the late material unknown; the morning after the
    changes were recorded rewrote exactly the facts of that material, which fixed them."""
    assert scenario.rewritten_unrecorded == 0
    assert scenario.unknown_unrecorded == scenario.fixed_rows > 0
    assert scenario.rewritten_rows == scenario.fixed_rows


def test_a_full_refresh_writes_the_facts_in_business_date_order(scenario):
    """DuckDB keeps insertion order and skips row groups by min/max: the facts are written in
    date order (macros/facts.sql, clustered_by), so reading a few months skips the others."""
    for fact, column in (
        ("fct_secondary_sales", "invoice_date"),
        ("fct_primary_dispatch", "dispatch_date"),
    ):
        (unordered,) = scenario.query(
            f"select count(*) from (select {column} < lag({column}) over (order by rowid) as back"
            f" from marts.{fact}) where back"
        )[0]
        assert unordered == 0, fact
