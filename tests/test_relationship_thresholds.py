"""The facts' relationships tests against the dimensions: any orphan code warns; the run fails
only when the orphan codes exceed both a count and a share of the codes the fact holds
(macros/relationships.sql adds that share to dbt's built-in test). Each looks at the rows the
fact's last build wrote (`where: __latest_build__`, macros/test_scope.sql). Run with the real dbt
on hand-made tables: the retailer test of fct_secondary_sales (error above 500 codes and 2.5%)."""

from __future__ import annotations

import pytest

from loader.settings import Settings
from pipeline import warehouse
from pipeline.dbt import run_dbt

pytestmark = pytest.mark.slow

TEST = "relationships_fct_secondary_sales_retailer_code__customer_code__ref_dim_customer_"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    return Settings.from_env(source=str(tmp_path), duckdb_path=str(tmp_path / "w.duckdb"))


LATEST = "timestamp '2026-11-27 06:00:00'"
EARLIER = "timestamp '2026-11-26 06:00:00'"


def grade(settings: Settings, known: int, unknown: int, unknown_built_at: str = LATEST) -> str:
    """The test's status on a fact of `known` + `unknown` distinct retailers, the unknown ones
    written by the build at `unknown_built_at`, the others by the latest."""
    with warehouse.connect(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.dim_customer as"
            f" select 'R' || i as customer_code from range({known}) t(i)"
        )
        con.execute(
            "create or replace table marts.fct_secondary_sales as"
            f" select 'R' || i as retailer_code, {LATEST} as _built_at from range({known}) t(i)"
            f" union all select 'X' || i, {unknown_built_at} from range({unknown}) t(i)"
            f" union all select null, {LATEST}"
        )
    result = run_dbt(["test", "--select", TEST], settings, timeout=300)
    (node,) = result.nodes
    return node["status"]


@pytest.mark.parametrize(
    ("known", "unknown", "status"),
    [
        (20_000, 0, "pass"),
        (20_000, 60, "warn"),  # a normal year's unknown retailers
        (20, 30, "warn"),  # a small sample: most codes unknown, but few of them
        (200_000, 600, "warn"),  # a large master: more than 500, but 0.3% of the codes
        (20_000, 600, "fail"),  # a truncated customer drop: 600 codes, 2.9%
    ],
)
def test_orphans_fail_the_build_only_above_a_count_and_a_share(settings, known, unknown, status):
    assert grade(settings, known, unknown) == status


def test_orphans_written_by_an_earlier_build_are_not_graded_again(settings):
    """600 unknown retailers of 20,000 fail when the last build wrote them, and are left alone
    when an earlier build did (that build's test graded them); after a full refresh every row
    has the same `_built_at`, so the whole fact is graded."""
    assert grade(settings, 20_000, 600, unknown_built_at=EARLIER) == "pass"
