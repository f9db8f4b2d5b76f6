"""The master-data, distribution-depth, RLS and constants marts on a generated sample, checked
against expectations computed here in plain Python straight from the landed Parquet files
(R1, R2, R3, R6, R7, R8, R9, R10), independently of the dbt models."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.marts_warehouse import Warehouse, build, dbt

UNKNOWN = "UNKNOWN"
FISCAL_YEAR_START_MONTH = 4


# --- expectations from the raw files ---------------------------------------------------------


def code(value: str | None) -> str | None:
    """R1: trim, upper-case, empty -> null."""
    if value is None:
        return None
    return value.strip().upper() or None


def read_dataset(landing: Path, dataset: str) -> list[dict]:
    """Every row of every Parquet file of a dataset, with `_source_file` / `_source_row`."""
    rows = []
    for path in sorted((landing / dataset).glob("dt=*/*.parquet")):
        rel = path.relative_to(landing).as_posix()
        for i, row in enumerate(pq.read_table(path).to_pylist()):
            rows.append({**row, "_source_file": rel, "_source_row": i})
    return rows


def version_rank(row: dict, with_updated_at: bool = True) -> tuple:
    """R3 ordering: greatest updated_at (null lowest), later file, later row."""
    if not with_updated_at:
        return (row["_source_file"], row["_source_row"])
    ts = row["updated_at"]
    return (ts is not None, ts or date.min, row["_source_file"], row["_source_row"])


def current_drop(rows: list[dict]) -> list[dict]:
    """R3 for dimensions: only the files under the greatest dt=."""
    latest = max(r["_source_file"].split("/")[1] for r in rows)
    return [r for r in rows if r["_source_file"].split("/")[1] == latest]


def latest_per_key(rows: list[dict], key, with_updated_at: bool = True) -> dict:
    best: dict = {}
    for row in rows:
        k = key(row)
        if k is None or (isinstance(k, tuple) and None in k[:1]):
            continue
        if k not in best or version_rank(row, with_updated_at) > version_rank(
            best[k], with_updated_at
        ):
            best[k] = row
    return best


class Expected:
    """The rules, re-implemented naively over the landed files."""

    def __init__(self, landing: Path):
        hierarchy_rows = []
        for r in current_drop(read_dataset(landing, "tsr_hierarchy")):
            tsr = code(r["tsr_code"])
            if tsr is None or r["effective_from"] is None:
                continue
            hierarchy_rows.append({**r, "tsr_code": tsr})
        versions = latest_per_key(hierarchy_rows, lambda r: (r["tsr_code"], r["effective_from"]))
        self.versions: dict[str, list[dict]] = defaultdict(list)
        for (tsr, _), r in versions.items():
            self.versions[tsr].append(r)
        for history in self.versions.values():
            history.sort(key=lambda r: r["effective_from"])
        # R7: the current hierarchy is each TSR's version with the greatest effective_from
        self.current = {tsr: history[-1] for tsr, history in self.versions.items()}

        # R3 for materials (greatest updated_at, then later file and row), R1 on the code
        self.materials = latest_per_key(
            current_drop(read_dataset(landing, "material_master")),
            lambda r: code(r["material_code"]),
        )

        customers = latest_per_key(
            current_drop(read_dataset(landing, "customer_master")),
            lambda r: code(r["customer_code"]),
        )
        self.customer_rows = customers
        self.customers = {}
        for customer_code, r in customers.items():
            tsr = code(r["tsr_code"])
            current = self.current.get(tsr)
            self.customers[customer_code] = {
                "customer_type": code(r["customer_type"]),
                "is_active": r["is_active"] is True,
                "territory_code": code(current["territory_code"]) if current else None,
            }

        access = latest_per_key(
            current_drop(read_dataset(landing, "rls_user_access")),
            lambda r: (
                (r["user_email"] or "").strip().lower() or None,
                code(r["access_level"]),
                code(r["access_value"]),
            ),
            with_updated_at=False,
        )
        self.access = [
            {**r, "user_email": k[0], "access_level": k[1], "access_value": k[2]}
            for k, r in access.items()
            if k[1] is not None
        ]

        self.fis = self._facts(landing, "fis", ("invoice_no", "invoice_line"), "invoice_date")
        self.fid = self._facts(landing, "fid", ("delivery_no", "delivery_line"), "dispatch_date")

    @staticmethod
    def _facts(landing: Path, dataset: str, key: tuple[str, str], date_col: str) -> list[dict]:
        """R1, R2 (rejects out first), R3 (latest version per key)."""
        valid = []
        for r in read_dataset(landing, dataset):
            r = {**r, key[0]: code(r[key[0]])}
            if r[key[0]] is None or r[key[1]] is None or r[date_col] is None:
                continue
            if dataset == "fis":
                r["doc_type"] = code(r["doc_type"])
                if r["doc_type"] not in ("INV", "CRN"):
                    continue
            valid.append(r)
        return list(latest_per_key(valid, lambda r: (r[key[0]], r[key[1]])).values())

    def territory_at(self, tsr_code: str | None, day: date) -> str:
        """R7: the territory of the version with the greatest effective_from <= day."""
        candidates = [
            v for v in self.versions.get(code(tsr_code), []) if v["effective_from"] <= day
        ]
        if not candidates:
            return UNKNOWN
        return code(candidates[-1]["territory_code"]) or UNKNOWN

    def universe(self, territory: str) -> int:
        if territory == UNKNOWN:
            return 0
        return sum(
            1
            for c in self.customers.values()
            if c["customer_type"] == "RETAILER"
            and c["is_active"]
            and c["territory_code"] == territory
        )

    def current_territories(self, level: str | None = None, value: str | None = None) -> set[str]:
        column = {"ZONE": "zone_code", "REGION": "region_code", "TERRITORY": "territory_code"}
        out = set()
        for v in self.current.values():
            territory = code(v["territory_code"])
            if territory is None:
                continue
            if level == "NATIONAL" or code(v[column[level]]) == value:
                out.add(territory)
        return out

    def rls(self) -> set[tuple[str, str]]:
        pairs = set()
        for a in self.access:
            if a["is_active"] is not True or a["access_level"] not in (
                "NATIONAL",
                "ZONE",
                "REGION",
                "TERRITORY",
            ):
                continue
            for territory in self.current_territories(a["access_level"], a["access_value"]):
                pairs.add((a["user_email"], territory))
        return pairs


def fiscal_year(day: date) -> str:
    start = day.year - (1 if day.month < FISCAL_YEAR_START_MONTH else 0)
    return f"FY{start}-{(start + 1) % 100:02d}"


def pct(numerator: Decimal, denominator: Decimal) -> Decimal:
    """round(100 * n / d, 2), half away from zero."""
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.01"), ROUND_HALF_UP)


def months_back(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(small_landing, tmp_path_factory) -> Warehouse:
    return build(small_landing, tmp_path_factory.getbasetemp() / "marts_warehouse")


@pytest.fixture(scope="module")
def expected(small_landing) -> Expected:
    return Expected(small_landing)


@pytest.fixture(scope="module")
def con(warehouse):
    """Query the warehouse; each query opens and closes its own read-only connection, so dbt
    can still write to the file between queries."""

    def query(sql: str) -> list[tuple]:
        connection = duckdb.connect(str(warehouse.duckdb_path), read_only=True)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    return query


def rows(con, sql: str) -> list[tuple]:
    return con(sql)


# --- tests -------------------------------------------------------------------------------------


def test_sample_exercises_the_rules(expected, small_landing):
    """The checks below mean something only if the sample holds the cases they are about."""
    # the dimensions' current drops hold codes that R1 changes and keys delivered twice (R3)
    for dataset, key in (
        ("material_master", "material_code"),
        ("customer_master", "customer_code"),
    ):
        drop = current_drop(read_dataset(small_landing, dataset))
        assert any(r[key] is not None and r[key] != code(r[key]) for r in drop), dataset
        keys = [code(r[key]) for r in drop if code(r[key]) is not None]
        assert len(keys) > len(set(keys)), dataset
    levels = {a["access_level"] for a in expected.access if a["is_active"] is True}
    assert {"NATIONAL", "REGION"} <= levels
    assert any(len(history) > 1 for history in expected.versions.values()), "no TSR moved"
    # R7 cases: a sale before its TSR's first version, and one in a territory the TSR has left
    assert any(
        expected.versions.get(code(r["tsr_code"]))
        and expected.territory_at(r["tsr_code"], r["invoice_date"]) == UNKNOWN
        for r in expected.fis
    )
    assert any(
        len(expected.versions.get(code(r["tsr_code"]), [])) > 1
        and expected.territory_at(r["tsr_code"], r["invoice_date"])
        != code(expected.current[code(r["tsr_code"])]["territory_code"])
        for r in expected.fis
    )
    assert any(not c["is_active"] for c in expected.customers.values())
    assert any(r["doc_type"] == "CRN" for r in expected.fis)


def test_dim_tsr_hierarchy_validity_ranges(con, expected):
    """R7: valid_from = effective_from, valid_to = the next version's effective_from, null and
    is_current for the last version."""
    want = set()
    for tsr, history in expected.versions.items():
        for i, v in enumerate(history):
            nxt = history[i + 1]["effective_from"] if i + 1 < len(history) else None
            want.add((tsr, v["effective_from"], nxt, nxt is None, code(v["territory_code"])))
    got = rows(
        con,
        "select tsr_code, valid_from, valid_to, is_current, territory_code"
        " from marts.dim_tsr_hierarchy",
    )
    assert len(got) == len(set(got)) == len(want)
    assert set(got) == want


def test_dim_material_is_the_latest_version_of_the_current_drop(con, expected):
    """R3 (current drop, greatest updated_at, later file, later row), R1 on the code only: the
    description, brand and the other text, the measures and the flag as delivered; no
    synthetic unknown member (R5)."""
    columns = ["material_desc", "brand", "category", "sub_category", "pack_size", "uom", "mrp"]
    columns += ["is_active", "updated_at"]
    got = {
        r[0]: r[1:]
        for r in rows(con, f"select material_code, {', '.join(columns)} from marts.dim_material")
    }
    want = {k: tuple(r[c] for c in columns) for k, r in expected.materials.items()}
    assert len(want) > 10
    assert got == want


def test_dim_tsr_hierarchy_columns(con, expected):
    """Every column of each version: R1 on the codes, names as delivered."""
    codes = ["territory_code", "so_code", "asm_code", "region_code", "zone_code"]
    names = ["tsr_name", "territory_name"]
    want = {
        (tsr, v["effective_from"]): tuple(code(v[c]) for c in codes) + tuple(v[c] for c in names)
        for tsr, history in expected.versions.items()
        for v in history
    }
    got = {
        (r[0], r[1]): r[2:]
        for r in rows(
            con,
            f"select tsr_code, valid_from, {', '.join(codes + names)} from marts.dim_tsr_hierarchy",
        )
    }
    assert got == want


def test_dim_customer_every_column_and_the_current_territory(con, expected):
    """Every column: R1 on the codes (pincode is not one), text as delivered, the territory of
    the customer's TSR's current hierarchy version (R7)."""
    columns = ["customer_name", "customer_type", "distributor_code", "tsr_code", "territory_code"]
    columns += ["city", "state", "pincode", "channel", "is_active", "updated_at"]
    codes = {"customer_type", "distributor_code", "tsr_code"}
    want = {}
    for customer_code, r in expected.customer_rows.items():
        values = {c: code(r[c]) if c in codes else r.get(c) for c in columns}
        values["territory_code"] = expected.customers[customer_code]["territory_code"]
        want[customer_code] = tuple(values[c] for c in columns)
    got = {
        r[0]: r[1:]
        for r in rows(con, f"select customer_code, {', '.join(columns)} from marts.dim_customer")
    }
    assert len(want) > 10
    assert got == want


def test_distribution_depth_against_the_facts(con, expected):
    """R8 in full, recomputed in Python from the fact rows (grain, signed sums, INV lines,
    billed outlets with net > 0, universe from the current master, LY, rounding)."""
    facts = rows(
        con,
        "select invoice_date, territory_code, brand, retailer_code, doc_type, net_amount"
        " from marts.fct_secondary_sales",
    )
    groups: dict[tuple, dict] = defaultdict(
        lambda: {"net": Decimal(0), "lines": 0, "retailers": defaultdict(Decimal)}
    )
    for invoice_date, territory, brand, retailer, doc_type, net in facts:
        g = groups[(invoice_date.replace(day=1), territory, brand)]
        g["net"] += net
        g["lines"] += doc_type == "INV"
        if retailer is not None:
            g["retailers"][retailer] += net
    want = set()
    for (month, territory, brand), g in groups.items():
        billed = sum(1 for net in g["retailers"].values() if net > 0)
        universe = expected.universe(territory)
        ly_group = groups.get((months_back(month, 12), territory, brand))
        ly = ly_group["net"] if ly_group else None
        want.add(
            (
                month,
                territory,
                brand,
                g["net"],
                g["lines"],
                billed,
                universe,
                pct(Decimal(billed), Decimal(universe)) if universe else None,
                ly,
                pct(g["net"] - ly, ly) if ly is not None and ly > 0 else None,
            )
        )
    got = rows(
        con,
        "select month_start, territory_code, brand, net_sales, invoice_lines, billed_outlets,"
        " universe_outlets, numeric_distribution_pct, net_sales_ly, growth_pct"
        " from marts.mart_distribution_depth",
    )
    assert len(want) > 50
    assert len(got) == len(set(got)), "duplicate rows"
    assert set(got) == want


def test_distribution_depth_totals_from_raw_files(con, expected):
    """R8 per month and territory (all brands), straight from the landed fis files: R2 rejects
    out, R3 latest version, R6 signs, R7 territory at the time of sale; and the universe from the
    raw customer and hierarchy drops."""
    want: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0])
    for r in expected.fis:
        key = (
            r["invoice_date"].replace(day=1),
            expected.territory_at(r["tsr_code"], r["invoice_date"]),
        )
        want[key][0] += -r["net_amount"] if r["doc_type"] == "CRN" else r["net_amount"]
        want[key][1] += r["doc_type"] == "INV"
    got = {
        (m, t): [net, lines]
        for m, t, net, lines in rows(
            con,
            "select month_start, territory_code, sum(net_sales), sum(invoice_lines)"
            " from marts.mart_distribution_depth group by all",
        )
    }
    assert got == dict(want)
    universes = rows(
        con, "select distinct territory_code, universe_outlets from marts.mart_distribution_depth"
    )
    assert any(u > 0 for _, u in universes)
    for territory, universe in universes:
        assert universe == expected.universe(territory), territory


def test_rls_matches_the_access_rules(con, expected):
    """R9 for every user, and in particular a NATIONAL user sees every current territory and a
    REGION user exactly the current territories of the region."""
    listed = rows(con, "select user_email, territory_code from marts.rls_user_territory")
    got = set(listed)
    assert len(listed) == len(got), "duplicate pairs"
    assert got == expected.rls()
    active = [a for a in expected.access if a["is_active"] is True]
    national = next(a["user_email"] for a in active if a["access_level"] == "NATIONAL")
    assert {t for u, t in got if u == national} == expected.current_territories("NATIONAL")
    region = next(
        a
        for a in active
        if a["access_level"] == "REGION"
        and expected.current_territories("REGION", a["access_value"])
    )
    granted = {t for u, t in got if u == region["user_email"]}
    assert expected.current_territories("REGION", region["access_value"]) <= granted
    assert granted < expected.current_territories("NATIONAL") or any(
        a["user_email"] == region["user_email"] and a["access_level"] == "NATIONAL" for a in active
    )
    assert all(u == u.strip().lower() for u, _ in got)


def test_business_constants(con, expected):
    # the expectation's own fiscal year (R10) on its boundary, before it is used
    assert (fiscal_year(date(2026, 3, 31)), fiscal_year(date(2026, 4, 1))) == (
        "FY2025-26",
        "FY2026-27",
    )
    got = dict(rows(con, "select constant_key, constant_value from marts.business_constants"))
    latest_invoice = max(r["invoice_date"] for r in expected.fis)
    latest_dispatch = max(r["dispatch_date"] for r in expected.fid)
    customers = expected.customers.values()
    assert got == {
        "latest_invoice_date": latest_invoice.isoformat(),
        "latest_dispatch_date": latest_dispatch.isoformat(),
        "current_fiscal_year": fiscal_year(latest_invoice),
        "active_retailers": str(
            sum(1 for c in customers if c["customer_type"] == "RETAILER" and c["is_active"])
        ),
        "active_distributors": str(
            sum(1 for c in customers if c["customer_type"] == "DISTRIBUTOR" and c["is_active"])
        ),
    }


def test_every_dbt_unit_test_passes(warehouse):
    """Every dbt unit test of the project passes: R3 to R10, the incremental runs of the facts
    (held rows given as `this`), the DD rules. They need the built relations for their column
    types, hence here and not in a bare `dbt test`; the scheduled builds exclude them."""
    import json

    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    declared = sorted(
        node["name"]
        for node in manifest["unit_tests"].values()
        if node["package_name"] == "datawiz"
    )
    assert len(declared) >= 20
    result = dbt(warehouse, "test", "--select", "test_type:unit")
    assert result.ok, "\n".join(result.failures())
    assert sorted(n["unique_id"].rsplit(".", 1)[1] for n in result.nodes) == declared
    assert result.count("pass") == len(declared)
