"""The sample-data generator: layout, declared types, determinism, appends and messiness."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loader.datasets import load_datasets
from loader.sample import _facts_task, drop_dates, generate, main

END = date(2026, 11, 26)
DAYS = 40
START = END - timedelta(days=DAYS - 1)
SCALE = 0.01
LAYOUT = re.compile(r"^(?P<dataset>[a-z_]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/(?P<file>[^/]+\.parquet)$")
FACTS = ("fis", "fid")
DIMENSIONS = ("material_master", "material_code_map", "customer_master", "tsr_hierarchy",
              "rls_user_access")  # fmt: skip


def norm(value: str | None) -> str | None:
    """R1 for codes: trim all whitespace, upper-case, empty -> null."""
    if value is None:
        return None
    return value.strip().upper() or None


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample") / "landing"
    summary = generate(out, days=DAYS, seed=7, end=END, scale=SCALE)
    return out, summary


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def parquet_files(root: Path, dataset: str | None = None) -> list[Path]:
    pattern = f"{dataset}/*/*.parquet" if dataset else "*/*/*.parquet"
    return sorted(root.glob(pattern), key=lambda p: p.relative_to(root).as_posix())


def rows_of(root: Path, dataset: str, dt: str | None = None) -> list[dict]:
    """All rows of a dataset (or of one drop), in landing order, with their file and row."""
    rows = []
    for path in parquet_files(root, dataset):
        rel = path.relative_to(root).as_posix()
        if dt and f"/dt={dt}/" not in rel:
            continue
        for i, row in enumerate(pq.read_table(path).to_pylist()):
            rows.append({**row, "_file": rel, "_row": i})
    return rows


def latest(root: Path, dataset: str) -> list[dict]:
    dts = sorted(p.parent.name for p in parquet_files(root, dataset))
    return rows_of(root, dataset, dts[-1].removeprefix("dt="))


# ----------------------------------------------------------------------------------------------
# layout and types


def test_every_file_has_the_declared_schema(sample):
    out, _ = sample
    datasets = load_datasets()
    files = parquet_files(out)
    assert {p.relative_to(out).parts[0] for p in files} == set(datasets)
    for path in files:
        declared = datasets[path.relative_to(out).parts[0]].schema
        schema = pq.read_schema(path).remove_metadata()
        assert schema.equals(declared), f"{path}: {schema} != {declared}"


def test_layout_matches_the_contract(sample):
    out, _ = sample
    for path in parquet_files(out):
        rel = path.relative_to(out).as_posix()
        m = LAYOUT.match(rel)
        assert m, rel
        assert START <= date.fromisoformat(m["dt"]) <= END, rel
    nothing_else = [
        p.relative_to(out).as_posix() for p in out.rglob("*")
        if p.is_file() and p.suffix == ".parquet" and not LAYOUT.match(p.relative_to(out).as_posix())
    ]  # fmt: skip
    assert nothing_else == []
    for fact in FACTS:  # one morning drop a day, each with a part-001
        dts = {p.parent.name for p in parquet_files(out, fact)}
        assert len(dts) == DAYS
        assert all((out / fact / dt / "part-001.parquet").exists() for dt in dts)
    assert list((out / "fis").glob("*/part-002.parquet")), "some late-correction files"
    expected = [f"dt={d.isoformat()}" for d in drop_dates(START, END)]
    assert expected[0] == f"dt={START}" and expected[-1] == f"dt={END}" and len(expected) == 3
    for dim in DIMENSIONS:  # evening snapshots: first day, every 30 days, last day
        assert sorted({p.parent.name for p in parquet_files(out, dim)}) == expected
    assert len(list((out / "customer_master" / f"dt={END}").glob("*.parquet"))) == 2


def test_summary_counts_files_and_rows_across_row_groups(sample):
    out, summary = sample
    many_groups = 0
    for name in load_datasets():
        files = parquet_files(out, name)
        metas = [pq.ParquetFile(p).metadata for p in files]
        many_groups += sum(1 for md in metas if md.num_row_groups > 1)
        assert summary[name]["files"] == len(files)
        assert summary[name]["rows"] == sum(md.num_rows for md in metas)
        assert summary[name]["written"] == len(files) and summary[name]["unchanged"] == 0
    assert many_groups > 0, "readers must count rows across row groups"
    # ~10k fis lines a year at scale 0.01, fid about a tenth
    assert 700 < summary["fis"]["rows"] < 2500
    assert summary["fid"]["rows"] < summary["fis"]["rows"] / 3


def test_junk_files_are_present(sample):
    out, _ = sample
    markers = list(out.rglob("_SUCCESS"))
    assert markers and all(p.stat().st_size == 0 for p in markers)
    assert list(out.rglob("notes.txt"))
    no_drop = [d for d in out.glob("*/dt=*") if not list(d.glob("*.parquet"))]
    assert no_drop, "a dt= folder holding only a marker"
    assert all(list(d.glob("_SUCCESS")) for d in no_drop)


# ----------------------------------------------------------------------------------------------
# determinism and appends


def test_same_arguments_give_identical_bytes(sample, tmp_path):
    out, _ = sample
    generate(tmp_path / "again", days=DAYS, seed=7, end=END, scale=SCALE)
    assert files_of(tmp_path / "again") == files_of(out)
    generate(tmp_path / "other", days=DAYS, seed=8, end=END, scale=SCALE)
    assert (
        files_of(tmp_path / "other")["fis/dt=2026-11-26/part-001.parquet"]
        != files_of(out)["fis/dt=2026-11-26/part-001.parquet"]
    )


def test_one_more_day_adds_only_that_days_files(sample, tmp_path):
    out, _ = sample
    work = tmp_path / "landing"
    shutil.copytree(out, work)  # copy2 keeps mtimes
    before = {
        p.relative_to(work).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in work.rglob("*") if p.is_file()
    }  # fmt: skip
    nxt = END + timedelta(days=1)
    summary = generate(work, days=DAYS + 1, seed=7, end=nxt, scale=SCALE)
    after = {
        p.relative_to(work).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in work.rglob("*") if p.is_file()
    }  # fmt: skip
    for rel, (data, mtime) in before.items():
        assert after[rel] == (data, mtime), f"{rel} was rewritten"
    added = set(after) - set(before)
    assert added and all(f"/dt={nxt}/" in rel for rel in added)
    assert {rel.split("/")[0] for rel in added if rel.endswith(".parquet")} == set(load_datasets())
    for name in load_datasets():
        new_files = [r for r in added if r.startswith(name + "/") and r.endswith(".parquet")]
        assert summary[name]["written"] == len(new_files)
    # a fresh run for the longer window writes exactly these files; the appended folder has
    # only the previous last day's evening snapshot in addition
    fresh = tmp_path / "fresh"
    generate(fresh, days=DAYS + 1, seed=7, end=nxt, scale=SCALE)
    fresh_files = files_of(fresh)
    assert all(after[rel][0] == data for rel, data in fresh_files.items())
    extra = set(after) - set(fresh_files)
    assert extra and all(rel.split("/")[0] in DIMENSIONS and f"/dt={END}/" in rel for rel in extra)


def test_facts_do_not_depend_on_where_a_run_starts(sample, tmp_path):
    """What --jobs relies on: a range of days written on its own (re-creating the three days
    before it) gives the same files as one pass over the whole window."""
    out, _ = sample
    lo, mid, hi = START.toordinal(), START.toordinal() + 17, END.toordinal() + 1
    _facts_task(tmp_path, 7, START, SCALE, mid, hi)
    _facts_task(tmp_path, 7, START, SCALE, lo, mid)
    facts = {
        k: v
        for k, v in files_of(out).items()
        if k.split("/")[0] in FACTS and k.endswith(".parquet")
    }
    assert files_of(tmp_path) == facts


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, days=0)
    with pytest.raises(ValueError):
        generate(tmp_path, scale=0)
    with pytest.raises(ValueError):
        generate(tmp_path, jobs=0)


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--out", "--days", "--seed", "--end", "--scale"):
        assert option in help_text
    assert (
        main(["--out", str(tmp_path), "--days", "3", "--scale", "0.01", "--end", "2026-01-31"]) == 0
    )
    printed = capsys.readouterr().out
    for name in load_datasets():
        assert re.search(rf"^{name}\s+\d+ files\s+[\d,]+ rows", printed, re.M), printed
    assert (tmp_path / "fis" / "dt=2026-01-31" / "part-001.parquet").exists()


# ----------------------------------------------------------------------------------------------
# content and messiness (domain.md section 5)


def fis_key(r: dict) -> tuple | None:
    """The R3 key of a valid fis row, or None for an R2 reject."""
    no = norm(r["invoice_no"])
    if no is None or r["invoice_line"] is None or r["invoice_date"] is None:
        return None
    if norm(r["doc_type"]) not in ("INV", "CRN"):
        return None
    return no, r["invoice_line"]


def test_fact_amounts_are_consistent_and_non_negative(sample):
    out, _ = sample
    for r in rows_of(out, "fis"):
        assert r["qty"] >= 0 and min(r["gross_amount"], r["discount_amount"], r["tax_amount"]) >= 0
        assert r["net_amount"] == r["gross_amount"] - r["discount_amount"] + r["tax_amount"]
    assert all(r["qty"] > 0 and r["net_value"] >= 0 for r in rows_of(out, "fid"))


def test_dates_timestamps_and_prices_are_plausible(sample):
    out, _ = sample
    lo, hi = datetime(2015, 1, 1), datetime.combine(END + timedelta(days=2), datetime.min.time())
    for name, ds in load_datasets().items():
        rows = rows_of(out, name)
        if "updated_at" in ds.schema.names:
            stamps = [r["updated_at"] for r in rows if r["updated_at"] is not None]
            assert stamps and lo <= min(stamps) and max(stamps) < hi, name
        if ds.date_column:
            dates = [r[ds.date_column] for r in rows if r[ds.date_column] is not None]
            assert START - timedelta(days=3) <= min(dates) and max(dates) <= END, name
    for r in rows_of(out, "material_master"):
        if norm(r["material_code"]):
            assert r["mrp"] > 0 and r["pack_size"] > 0 and r["uom"], r


def test_fis_messiness_is_present(sample):
    out, _ = sample
    rows = rows_of(out, "fis")
    codes = ("invoice_no", "distributor_code", "retailer_code", "material_code", "tsr_code")

    def count(pred) -> int:
        return sum(1 for r in rows if pred(r))

    messy = count(lambda r: any(r[c] and r[c] != r[c].strip().upper() for c in codes))
    assert 0.005 * len(rows) < messy < 0.1 * len(rows)
    assert count(lambda r: any(r[c] is not None and r[c].upper() != r[c] for c in codes))
    assert count(lambda r: any(r[c] is not None and not r[c].strip() for c in codes)), "empty codes"
    crn = count(lambda r: norm(r["doc_type"]) == "CRN")
    assert 0.01 * len(rows) < crn < 0.06 * len(rows)
    assert count(lambda r: r["doc_type"] is not None and r["doc_type"] != norm(r["doc_type"]))
    assert count(lambda r: r["invoice_no"] is None)
    assert count(lambda r: r["invoice_date"] is None)
    assert count(lambda r: r["doc_type"] is None)
    assert count(lambda r: norm(r["doc_type"]) not in (None, "INV", "CRN"))
    rejects = count(lambda r: fis_key(r) is None)
    assert rejects < 0.05 * len(rows)

    versions = defaultdict(list)
    for r in rows:
        if (k := fis_key(r)) is not None:
            versions[k].append(r)
    newer = older = exact = tie_later_file = tie_same_file = 0
    for vs in versions.values():
        for a in vs:
            for b in vs:
                later_file = b["_file"] > a["_file"]
                if later_file and b["updated_at"] > a["updated_at"]:
                    newer += 1
                if later_file and b["updated_at"] < a["updated_at"]:
                    older += 1
                same = b["updated_at"] == a["updated_at"]
                if later_file and same and b["qty"] == a["qty"]:
                    exact += 1
                if later_file and same and b["qty"] != a["qty"]:
                    tie_later_file += 1
                if (
                    b["_file"] == a["_file"]
                    and b["_row"] > a["_row"]
                    and same
                    and b["qty"] != a["qty"]
                ):
                    tie_same_file += 1
    assert newer > 10, "corrections with a newer updated_at"
    assert older > 3, "re-sends with an OLDER updated_at in a later file"
    assert exact > 3, "exact duplicates in a later file"
    assert tie_later_file > 0 and tie_same_file > 0, "ties that the file / row order decides"
    # a key re-sent with a newer updated_at but broken (a reject must not win)
    valid_keys = set(versions)
    broken_resends = [
        r for r in rows
        if fis_key(r) is None and r["invoice_no"] and r["invoice_line"] is not None
        and (norm(r["invoice_no"]), r["invoice_line"]) in valid_keys
    ]  # fmt: skip
    assert broken_resends


def test_unknown_members_and_uncovered_tsrs(sample):
    out, _ = sample
    fis = rows_of(out, "fis")
    customers = {norm(r["customer_code"]) for r in latest(out, "customer_master")}
    materials = {norm(r["material_code"]) for r in latest(out, "material_master")}
    retailers = {norm(r["retailer_code"]) for r in fis} - {None}
    assert retailers - customers, "outlets unknown to the customer master"
    assert {norm(r["material_code"]) for r in fis} - {None} - materials, "unknown materials"
    fid_dists = {norm(r["distributor_code"]) for r in rows_of(out, "fid")} - {None}
    assert fid_dists - customers, "distributors unknown to the customer master"
    first_version: dict[str, date] = {}
    for r in latest(out, "tsr_hierarchy"):
        code = norm(r["tsr_code"])
        if code and r["effective_from"]:
            first_version[code] = min(first_version.get(code, date.max), r["effective_from"])
    before_first = [
        r for r in fis
        if r["invoice_date"] and norm(r["tsr_code"]) in first_version
        and r["invoice_date"] < first_version[norm(r["tsr_code"])]
    ]  # fmt: skip
    assert before_first, "lines sold before the TSR's first hierarchy version"


def test_material_code_map_has_chains_cycles_and_double_mappings(sample):
    out, _ = sample
    rows = latest(out, "material_code_map")
    assert any(r["old_material_code"] is None or r["effective_from"] is None for r in rows)
    assert any(
        r["old_material_code"] and r["old_material_code"] != norm(r["old_material_code"])
        for r in rows
    )
    maps: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for r in rows:
        old, new = norm(r["old_material_code"]), norm(r["new_material_code"])
        if old and new and r["effective_from"]:
            maps[old].append((r["effective_from"], new))
    assert any(len({e for e, _ in v}) > 1 for v in maps.values()), "one old code, two dates"
    effective_mid = [e for v in maps.values() for e, _ in v if START < e <= END]
    assert len(effective_mid) >= 10, "remaps that take effect within the period"

    def resolve(code: str, on: date) -> tuple[str | None, int]:
        """R4: follow the latest effective mapping, at most 10 hops."""
        for hops in range(11):
            live = [m for m in maps.get(code, []) if m[0] <= on]
            if not live:
                return code, hops
            code = max(live)[1]
        return None, 11

    results = {code: resolve(code, END) for code in maps}
    assert any(h >= 2 for c, h in results.values() if c), "a multi-hop chain"
    assert any(h == 10 for c, h in results.values() if c), "a chain of exactly 10 hops resolves"
    unresolved = [code for code, (c, _) in results.items() if c is None]
    cyclic = [
        x for x in unresolved
        if any(resolve(y, END)[0] is None and x in {n for _, n in maps.get(y, [])}
               for _, y in maps[x])
    ]  # fmt: skip
    assert cyclic, "a cycle X -> Y -> X"
    assert len(unresolved) > len(cyclic), "an acyclic chain longer than 10 hops"


def test_dimensions_are_messy_and_older_drops_differ(sample):
    out, _ = sample
    first = f"{START}"
    # materials: the latest drop has more materials than the first one
    n_first = {norm(r["material_code"]) for r in rows_of(out, "material_master", first)} - {None}
    n_last = {norm(r["material_code"]) for r in latest(out, "material_master")} - {None}
    assert n_last > n_first and 300 < len(n_last) < 600
    # customers: inactive ones, messy codes, null keys, duplicate keys within the drop
    cust = latest(out, "customer_master")
    assert any(not r["is_active"] and norm(r["customer_type"]) == "RETAILER" for r in cust)
    assert any(r["customer_code"] and r["customer_code"] != norm(r["customer_code"]) for r in cust)
    assert any(norm(r["customer_code"]) is None for r in cust)
    keys = [norm(r["customer_code"]) for r in cust if norm(r["customer_code"])]
    assert len(keys) > len(set(keys))
    kinds = {norm(r["customer_type"]) for r in cust}
    assert kinds == {"DISTRIBUTOR", "RETAILER"}
    assert all(
        r["distributor_code"] is None for r in cust if norm(r["customer_type"]) == "DISTRIBUTOR"
    )
    assert 50 <= sum(1 for k in set(keys) if k.startswith("R")) < 1000
    # hierarchy: TSR histories, null updated_at, null keys, an older drop with other rows
    hier = latest(out, "tsr_hierarchy")
    per_tsr = defaultdict(set)
    for r in hier:
        if norm(r["tsr_code"]) and r["effective_from"]:
            per_tsr[norm(r["tsr_code"])].add(r["effective_from"])
    assert any(len(v) > 1 for v in per_tsr.values()), "TSRs that moved"
    assert any(START < e <= END for v in per_tsr.values() for e in v if len(v) > 1)
    assert any(r["updated_at"] is None for r in hier)
    assert any(r["tsr_code"] is None or r["effective_from"] is None for r in hier)
    territories = {norm(r["territory_code"]) for r in hier}
    assert 70 <= len(territories - {None}) <= 90
    assert len({norm(r["zone_code"]) for r in hier} - {None}) == 5
    old = {
        (r["tsr_code"], r["effective_from"], r["territory_code"])
        for r in rows_of(out, "tsr_hierarchy", first)
    }
    new = {(r["tsr_code"], r["effective_from"], r["territory_code"]) for r in hier}
    assert old != new
    # access: every level, NATIONAL without a value, inactive rows, messy emails
    rls = latest(out, "rls_user_access")
    levels = {norm(r["access_level"]) for r in rls}
    assert {"NATIONAL", "ZONE", "REGION", "TERRITORY"} <= levels
    assert all(
        norm(r["access_value"]) is None for r in rls if norm(r["access_level"]) == "NATIONAL"
    )
    assert any(not r["is_active"] for r in rls)
    assert any(r["user_email"] and r["user_email"] != r["user_email"].strip().lower() for r in rls)
