"""Leaderboard tables from records with known numbers: columns, speed-up rules, power, spread, flags,
cross-target table, and a published snapshot that rebuilds byte for byte from its own records."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from suite.publish import leaderboard
from suite.publish.rows import COLUMNS
from tests.conftest import REPO, edgeq
from tests.support.publish_records import make_record, write_records


def sweep_records() -> list[dict]:
    return [
        make_record("fp32", 0.980, 2.0, created_at="2026-05-01T10:00:00Z"),
        make_record("ptq-static", 0.975, 1.0, params={"per_channel": True}, per_run_p50_ms=[0.8, 1.0, 1.2]),
        make_record("ptq-static", 0.940, 0.8, params={"per_channel": False}),
        make_record("fp32", 0.980, 4.0, runtime="litert", version="2.3.0", provider="xnnpack"),
        make_record(
            "ptq-static",
            0.975,
            1.0,
            params={"per_channel": True},
            runtime="litert",
            version="2.3.0",
            provider="xnnpack",
        ),
        make_record("dynamic", 0.979, 1.5, version="1.31.0"),  # no fp32 on ORT 1.31: no speed-up
        make_record("binary", 0.960, 1.9, simulated=True, simulated_top1=0.970, family="binary", bits=(1, 32)),
        make_record("qat", 0.978, 1.0, mj_per_item=0.75, avg_w=1.5, quick=True),
        make_record("broken", None, None, status="failed", error="RuntimeError: bad | pipe"),
    ]


def _rows(board: Path) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader((board / "leaderboard.csv").open(encoding="utf-8")))
    return {f"{r['label']}@{r['runtime']}{r['runtime_version']}": r for r in rows}


def _table_lines(readme: str) -> dict[str, dict[str, str]]:
    """README table rows by 'label@runtime version' -> {header: cell}."""
    out, header = {}, []
    for line in readme.split("## Across toolkits")[0].splitlines():  # the leaderboard tables only
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| # |"):
            header = cells
        elif line.startswith("| ") and not line.startswith("| `") and len(cells) > 5:
            row = dict(zip(header, cells, strict=True))
            out[f"{row['method']}@{row['runtime']}"] = row
    return out


def test_target_readme_csv_json(results_dir: Path) -> None:
    store = write_records(results_dir, sweep_records())
    leaderboard.publish(store, None, results_dir / "leaderboard")
    board = results_dir / "leaderboard" / "bench-a"
    readme = (board / "README.md").read_text(encoding="utf-8")

    # MLPerf-style columns, machine, date and commit.
    header = next(line for line in readme.splitlines() if line.startswith("| # |"))
    for col in (
        "method",
        "family",
        "W/A bits",
        "runtime",
        "provider",
        "top-1 %",
        "top-5 %",
        "Δ vs fp32",
        "sim→real gap",
        "p50 ms",
        "p90 ms",
        "items/s",
        "speed-up vs fp32",
        "power",
        "size KiB",
        "Pareto",
        "flags",
        "toolkit",
    ):
        assert col in header, col
    # A classifier's table has none of a language model's columns; date and commit are one line under it.
    assert "perplexity" not in header and "TTFT" not in header and "| date |" not in header
    assert "Measured 2026-05-01, suite commit 0123456." in readme
    assert "Test CPU 9000" in readme and "avx512_vnni" in readme

    cells = _table_lines(readme)
    pc = "ptq-static [per_channel=True]"
    # Speed-up only against fp32 on the same runtime and version: 2.0/1.0 on ORT, 4.0/1.0 on LiteRT, none on ORT 1.31.
    assert cells[f"{pc}@ort 1.32.0"]["speed-up vs fp32"] == "2.00x"
    assert cells[f"{pc}@litert 2.3.0"]["speed-up vs fp32"] == "4.00x"
    assert cells["dynamic@ort 1.31.0"]["speed-up vs fp32"] == "–"
    assert cells["binary@ort 1.32.0"]["speed-up vs fp32"] == "not claimed"
    # Sim-to-real gap: 97.0 simulated, 96.0 deployed.
    assert cells["binary@ort 1.32.0"]["sim→real gap (pts)"] == "+1.00"
    assert cells["fp32@ort 1.32.0"]["sim→real gap (pts)"] == "–"
    # Spread where runs differ: per-run p50s 0.8, 1.0, 1.2 -> sample std 0.2 over mean 1.0: CV 20.0 %
    # (worked by hand, not by the formula under test), over the 10 % threshold: unstable; no interval
    # in this (fixed-count) record, so the cell shows the CV.
    assert cells[f"{pc}@ort 1.32.0"]["p50 ms"] == "1.0000 cv 20.0%"
    # Power: measured, or a dash, and why not said once below the table.
    power = next(h for h in cells["qat@ort 1.32.0"] if h.startswith("power"))
    assert cells["qat@ort 1.32.0"][power] == "1.50 W · 0.750 mJ/item"
    assert cells["fp32@ort 1.32.0"][power] == "–" and "| not measured" not in readme
    reason = "Power not measured: rapl: no RAPL package domain under /sys/class/powercap (a VM)."
    assert readme.count(reason) == 1  # the full reason, once, below the table
    # Flags and provenance.
    assert cells["binary@ort 1.32.0"]["flags"] == "simulated"
    assert cells["qat@ort 1.32.0"]["flags"] == "quick"
    assert cells[f"{pc}@ort 1.32.0"]["flags"] == "unstable"
    # a record without method.toolkit: the registry's toolkit, no version
    assert cells["fp32@ort 1.32.0"]["toolkit"] == "torch"
    # A failed job is listed, with its error (pipes escaped), after every ok row.
    assert cells["broken@ort 1.32.0"]["top-1 %"] == "**failed**: RuntimeError: bad \\| pipe"
    order = [k for k in cells]
    assert order[-1] == "broken@ort 1.32.0"
    # Sorted by the primary metric, best first.
    tops = [float(c["top-1 %"]) for c in cells.values() if c["top-1 %"].replace(".", "").isdigit()]
    assert tops == sorted(tops, reverse=True)

    rows = _rows(board)
    assert list(next(iter(rows.values()))) == COLUMNS
    assert float(rows[f"{pc}@ort1.32.0"]["speedup"]) == 2.0
    assert rows["dynamic@ort1.31.0"]["speedup"] == ""
    assert abs(float(rows["binary@ort1.32.0"]["sim_to_real_gap"]) - 0.01) < 1e-9
    assert rows[f"{pc}@ort1.32.0"]["p50_ms_min"] == "0.8" and rows[f"{pc}@ort1.32.0"]["p50_ms_max"] == "1.2"
    assert rows["fp32@ort1.32.0"]["w_bits"] == "8"  # integers stay integers in the CSV
    # Every CSV/JSON column is documented in the table's README.
    for name in COLUMNS:
        assert f"| `{name}` |" in readme, name
    data = json.loads((board / "leaderboard.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in data["columns"]] == COLUMNS and len(data["rows"]) == len(rows)


def test_newest_record_per_configuration(results_dir: Path) -> None:
    old = make_record("ptq-static", 0.90, 3.0, created_at="2026-04-01T00:00:00Z")
    new = make_record("ptq-static", 0.95, 1.0, created_at="2026-05-02T00:00:00Z")
    df = leaderboard.frame([new, old, make_record("fp32", 0.98, 2.0)])
    ptq = df[df["method"] == "ptq-static"]
    assert len(ptq) == 1 and ptq.iloc[0]["top1"] == 0.95


def test_cross_target_table(results_dir: Path) -> None:
    records = [
        make_record("fp32", 0.98, 2.0, target="pi-5"),
        make_record("ptq-static", 0.97, 1.0, target="pi-5"),
        make_record("fp32", 0.98, 0.5, target="jetson", runtime="ort", provider="CUDAExecutionProvider"),
        make_record("ptq-static", 0.97, 0.2, target="jetson", runtime="ort", provider="CUDAExecutionProvider"),
        make_record("ptq-static", 0.96, 0.4, target="jetson", runtime="ort", provider="CPUExecutionProvider"),
    ]
    store = write_records(results_dir, records)
    leaderboard.publish(store, None, results_dir / "leaderboard")
    text = (results_dir / "leaderboard" / "cross-target.md").read_text(encoding="utf-8")
    assert "| method | jetson | pi-5 |" in text
    line = next(line for line in text.splitlines() if line.startswith("| ptq-static |"))
    # The fastest deployment per target: CUDA on the Jetson (0.2 ms, 2.5x its fp32), CPU on the Pi.
    assert "97.00 % · 0.2000 ms · 2.50x (ort CUDA)" in line and "97.00 % · 1.0000 ms · 2.00x (ort CPU)" in line
    rows = list(csv.DictReader((results_dir / "leaderboard" / "cross-target.csv").open(encoding="utf-8")))
    ptq = next(r for r in rows if r["method"] == "ptq-static")
    assert float(ptq["jetson:p50_ms"]) == 0.2 and float(ptq["pi-5:p50_ms"]) == 1.0


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow(reason="three `edgeq publish` subprocesses, each drawing every chart of the snapshot")
def test_snapshot_rebuilds_from_itself(results_dir: Path, tmp_path: Path) -> None:
    records = sweep_records() + [make_record("fp32", 0.99, 1.0, target="bench-b")]
    write_records(results_dir, records)
    published = tmp_path / "published"
    out = edgeq("publish", "--snapshot", "ref-2026", "--published-dir", str(published))
    assert out.returncode == 0, out.stderr
    snap = published / "ref-2026"
    for rel in (
        "README.md",
        "index.html",
        "cross-target.md",
        "cross-target.csv",
        "snapshot.json",
        "bench-a/README.md",
        "bench-a/leaderboard.csv",
        "bench-a/leaderboard.json",
        "bench-a/pareto-digits-cnn-latency.png",
        "bench-a/pareto-digits-cnn-energy.png",
        "bench-b/README.md",
        "landscape.png",
        "landscape.svg",
        "bench-a/landscape.png",
        "bench-b/landscape.svg",
    ):
        assert (snap / rel).is_file(), rel
    # The very records, byte for byte, as the store wrote them.
    for src in (results_dir / "records").rglob("*.json"):
        assert (snap / "records" / src.relative_to(results_dir / "records")).read_bytes() == src.read_bytes()
    index = (snap / "README.md").read_text(encoding="utf-8")
    assert "EdgeQ published snapshot: ref-2026" in index and "Test CPU 9000" in index and "avx512_vnni" in index
    assert "edgeq publish --from .\n" in index  # relative: right wherever the folder is moved
    for path in snap.rglob("*"):  # nothing written names where it was written
        if path.is_file() and path.suffix in (".md", ".html", ".json", ".csv", ".tex") and "records" not in path.parts:
            assert str(tmp_path) not in path.read_text(encoding="utf-8"), path

    before = _digest(snap)
    (snap / "bench-a" / "README.md").write_text("stale", encoding="utf-8")  # rebuilt from the records, not kept
    out = edgeq("publish", "--from", str(snap), env={"EDGEQ_RESULTS_DIR": str(tmp_path / "elsewhere")}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert _digest(snap) == before
    assert not (tmp_path / "elsewhere").exists()  # a snapshot rebuild touches nothing else
    moved = tmp_path / "moved"
    snap.rename(moved)
    out = edgeq("publish", "--from", ".", cwd=moved)  # the README's command, where it says to run it
    assert out.returncode == 0, out.stderr
    assert _digest(moved) == before


def _git_status() -> str | None:
    try:
        run = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return run.stdout if run.returncode == 0 else None


@pytest.mark.slow(reason="an `edgeq publish --snapshot` subprocess drawing every chart of the snapshot")
def test_snapshot_goes_under_the_results_root(results_dir: Path, tmp_path: Path) -> None:
    """With EDGEQ_RESULTS_DIR set and no --published-dir, a snapshot goes to its published/ folder and the
    repository (its results/published included) is untouched."""
    write_records(results_dir, sweep_records())
    repo_published = REPO / "results" / "published"
    before = sorted(p.name for p in repo_published.iterdir()) if repo_published.is_dir() else []
    status = _git_status()
    out = edgeq("publish", "--snapshot", "mine-2026", cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert (results_dir / "published" / "mine-2026" / "snapshot.json").is_file()
    assert (results_dir / "published" / "mine-2026" / "bench-a" / "paper-digits-cnn.tex").is_file()
    assert not (repo_published / "mine-2026").exists()
    assert (sorted(p.name for p in repo_published.iterdir()) if repo_published.is_dir() else []) == before
    assert _git_status() == status  # None both times outside a git checkout


def test_publish_bad_input_is_one_line(results_dir: Path, tmp_path: Path) -> None:
    write_records(results_dir, [make_record("fp32", 0.98, 2.0)])
    out = edgeq("publish", "--target", "nope")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "nope" in out.stderr and "bench-a" in out.stderr
    assert "Traceback" not in out.stderr
    someone = tmp_path / "mine"
    (someone / "keep.txt").parent.mkdir()
    (someone / "keep.txt").write_text("x")
    out = edgeq("publish", "--snapshot", "mine", "--published-dir", str(tmp_path))
    assert out.returncode == 2 and "not an EdgeQ snapshot" in out.stderr
    assert (someone / "keep.txt").read_text() == "x"
    out = edgeq("publish", "--from", str(tmp_path / "missing"))
    assert out.returncode == 2 and "no such folder" in out.stderr and "Traceback" not in out.stderr


def test_docs_columns_documents_every_column() -> None:
    """docs/columns.md (generated from suite.records.fields) is where the columns are documented."""
    text = (REPO / "docs" / "columns.md").read_text(encoding="utf-8")
    missing = [name for name in COLUMNS if f"`{name}`" not in text]
    assert not missing, f"docs/columns.md does not document: {missing}"


def test_intervals_significance_and_too_few_to_rank(results_dir: Path) -> None:
    """± is the 95% interval where the record has one; Δ says n.s. when the paired test does; on a task
    scored on 20 items a method that is not significantly better than fp32 earns no star from accuracy."""
    few = dict(task="imagenet-20", n_eval=20, fp32_top1=0.85)
    records = [
        make_record("fp32", 0.85, 10.0, p50_ci=(9.9, 10.1), precision_met=True, **few),
        make_record("ptq-static", 0.90, 11.0, p50_ci=(10.9, 11.2), precision_met=False, significant=False, **few),
        make_record("dynamic", 0.80, 30.0, significant=False, **few),
        make_record("fp32", 0.97, 2.0, p50_ci=(1.99, 2.01), precision_met=True),
        make_record("ptq-static", 0.98, 2.5, significant=True, params={"per_channel": True}),
    ]
    store = write_records(results_dir, records)
    leaderboard.publish(store, None, results_dir / "leaderboard")
    readme = (results_dir / "leaderboard" / "bench-a" / "README.md").read_text(encoding="utf-8")
    cells = _table_lines(readme)
    assert cells["fp32@ort 1.32.0"]["p50 ms"] in ("2.0000 ±0.5%", "10.0000 ±1.0%")
    assert "**Too few to rank**" in readme.split("## imagenet-20", 1)[1].split("## ", 1)[0]
    rows = {
        (r["task"], r["method"]): r
        for r in csv.DictReader((results_dir / "leaderboard" / "bench-a" / "leaderboard.csv").open(encoding="utf-8"))
    }
    few_ptq = rows[("imagenet-20", "ptq-static")]
    assert few_ptq["too_few_to_rank"] == "True" and few_ptq["delta_significant"] == "False"
    assert "imprecise" in few_ptq["flags"] and "too few to rank" in few_ptq["flags"]
    assert float(few_ptq["p50_ci_lo_ms"]) == 10.9 and float(few_ptq["p50_ci_pct"]) == pytest.approx(20 / 11)
    # 20 items: ptq-static's +5 points (one image) are not significant, so it ties fp32 and, slower, gets no star.
    assert rows[("imagenet-20", "fp32")]["pareto"] == "True" and few_ptq["pareto"] == "False"
    # 540 items and a significant gain: ptq-static is on the front by accuracy, as before.
    assert (
        rows[("digits-cnn", "ptq-static")]["pareto"] == "True"
        and rows[("digits-cnn", "ptq-static")]["too_few_to_rank"] == "False"
    )
    section = readme.split("## imagenet-20", 1)[1].split("## Across toolkits", 1)[
        0
    ]  # the main table, not the toolkit view
    lines = {line.split(" | ")[1]: line for line in section.splitlines() if line.startswith("| ") and " | " in line}
    assert (
        "+5.00 n.s." in lines["ptq-static"]
        and "10.0000 ±1.0%" in lines["fp32"]
        and "11.0000 ±1.8%" in lines["ptq-static"]
    )
    toolkit_rows = [
        line
        for line in readme.split("## Across toolkits", 1)[1].splitlines()
        if "| ptq-static |" in line and "90.00" in line
    ]
    assert toolkit_rows and all("+5.00 n.s." in line for line in toolkit_rows)  # the toolkit view says n.s. too


def test_a_variant_label_names_a_left_out_parameter_by_its_default() -> None:
    """A record leaves out a parameter added later while it is at its default (``Params.added_later``): the
    label of that variant says the default's value (int4's ``rtn``), not ``None``."""
    from suite.publish.rows import frame
    from tests.support.publish_records import make_record

    rows = frame(
        [
            make_record("int4", 0.95, 1.0, params={"scheme": "weight-only"}),
            make_record("int4", 0.94, 1.1, params={"scheme": "weight-only", "algorithm": "k_quant"}),
        ]
    )
    assert sorted(rows["label"]) == ["int4 [algorithm=k_quant]", "int4 [algorithm=rtn]"]
