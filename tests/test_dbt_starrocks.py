"""dbt on StarRocks without a server: the project parses for the starrocks target, and every
statement dbt compiles for it is valid StarRocks SQL as far as sqlglot's `starrocks` dialect
can tell.

`dbt parse --target starrocks` needs no connection. `dbt compile --no-populate-cache` compiles
the non-incremental models (and the data tests on them) without one; incremental models always
introspect their relation, so they are compiled and run against the test double in
tests/test_pipeline_starrocks.py instead. A statement sqlglot cannot parse, or only keeps as an
opaque `Command`, fails here with the node and the statement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tests.doubles.starrocks.engine import RESERVED_WORDS

ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"


def _dbt(args: list[str], target_path: Path, log_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        {
            "DATAWIZ_TARGET": "starrocks",
            # No server anywhere near: port 1 refuses at once, so anything that tries to
            # connect fails loudly instead of finding a stray server.
            "DATAWIZ_STARROCKS_HOST": "127.0.0.1",
            "DATAWIZ_STARROCKS_QUERY_PORT": "1",
            "DBT_TARGET_PATH": str(target_path),
            "DBT_LOG_PATH": str(log_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def starrocks_dbt(tmp_path_factory):
    """`dbt parse` then `dbt compile --no-populate-cache` of the non-incremental models, both
    for the starrocks target, in a private target folder (the compile reuses the parse)."""
    work = tmp_path_factory.mktemp("dbt_starrocks")
    target, logs = work / "target", work / "logs"
    parse = _dbt(["parse"], target, logs)
    compile_ = _dbt(
        [
            "compile",
            "--no-populate-cache",
            "--select",
            "config.materialized:table",
            "config.materialized:view",
            "config.materialized:ephemeral",
            "config.materialized:materialized_view",
            "test_type:singular",
        ],
        target,
        logs,
    )
    return parse, compile_, target


def _reserved_identifiers(statement: exp.Expression) -> list[str]:
    """Unquoted names (aliases, columns, tables) that StarRocks reserves (the double rejects them
    too; here they are caught in SQL that dbt compiles but the pipeline tests do not run)."""
    return sorted(
        {
            ident.name
            for ident in statement.find_all(exp.Identifier)
            if not ident.quoted and ident.name.lower() in RESERVED_WORDS
        }
    )


def _statement_problems(sql: str) -> list[str]:
    """What sqlglot's starrocks dialect rejects in `sql` (empty when every statement parses),
    and unquoted names StarRocks reserves."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="starrocks") if s is not None]
    except sqlglot.errors.ParseError as e:
        return [str(e).splitlines()[0]]
    if not statements:
        return ["no statement"]
    problems = []
    for statement in statements:
        if isinstance(statement, exp.Command):
            problems.append(f"not understood, only kept as a raw command: {statement.sql()[:120]}")
        elif isinstance(statement, exp.Merge):
            # sqlglot parses MERGE in any dialect; StarRocks has no MERGE statement
            problems.append("MERGE is not a StarRocks statement")
        elif reserved := _reserved_identifiers(statement):
            problems.append(f"reserved by StarRocks, unquoted: {', '.join(reserved)}")
    return problems


def test_dbt_parse_for_starrocks_needs_no_server(starrocks_dbt):
    parse, _, target = starrocks_dbt
    assert parse.returncode == 0, parse.stdout[-3000:] + parse.stderr[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "starrocks"
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models, "no models parsed"


def test_non_incremental_models_compile_offline(starrocks_dbt):
    _, compile_, target = starrocks_dbt
    assert compile_.returncode == 0, compile_.stdout[-3000:] + compile_.stderr[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    expected = {
        n["unique_id"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] != "incremental"
    }
    compiled = {
        n["unique_id"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n.get("compiled_code")
    }
    assert expected, "no non-incremental models in the project"
    assert expected <= compiled, f"not compiled: {sorted(expected - compiled)}"


def test_every_compiled_statement_parses_as_starrocks_sql(starrocks_dbt):
    _, compile_, target = starrocks_dbt
    assert compile_.returncode == 0, compile_.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    checked, problems = 0, []
    for node in manifest["nodes"].values():
        code = node.get("compiled_code")
        if not code or node["resource_type"] not in ("model", "test", "unit_test"):
            continue
        checked += 1
        for problem in _statement_problems(code):
            problems.append(f"{node['unique_id']}: {problem}\n    {code.strip()[:300]}")
    assert checked >= 10, f"only {checked} compiled nodes; is the selection right?"
    singular = [
        n
        for n in manifest["nodes"].values()
        if n["unique_id"].startswith("test.")
        and "assert_" in n["unique_id"]
        and n.get("compiled_code")
    ]
    assert len(singular) >= 2, "the singular tests were not compiled"
    assert not problems, "StarRocks (sqlglot) rejects:\n" + "\n".join(problems)


def test_the_check_rejects_what_starrocks_rejects():
    # The checker itself: valid StarRocks passes, MySQL-only or broken SQL does not.
    assert _statement_problems("select date_trunc('month', d) as m from t") == []
    assert (
        _statement_problems(
            "create table t primary key (k) distributed by hash (k) as select 1 as k"
        )
        == []
    )
    assert _statement_problems("select * from t where") != []
    assert _statement_problems("merge into t using s on t.k = s.k when matched then delete") != []
    # a reserved word as a bare alias (sqlglot parses it; StarRocks does not), fine when quoted
    assert _statement_problems("select files.a from (select 1 as a) as files") == [
        "reserved by StarRocks, unquoted: files"
    ]
    assert _statement_problems("select `rows` from raw.load_ledger") == []
