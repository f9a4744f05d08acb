"""``edgeq reproduce RECORD.json``: rebuild a job from its record alone and compare the results.

A record carries the task and profile files it was measured with (``sources``: their text and
sha256), the method's resolved parameters and the quick/limit flags. Reproducing plans that exact job
again, runs it in a worker with an empty model/artifact cache (so the reference model is trained again
from its seeded recipe and the artifact is quantized again: nothing comes from the cache) and prints:

- the fingerprint: identical, or which inputs differ (a package version, say) and so may move numbers;
- deployed accuracy: must be identical on the same machine and packages (exit 1 if not);
- the artifact's sha256: identical where the library writes the same bytes for the same inputs; a
  method whose library does not registers ``deterministic=False`` and the difference is reported,
  not failed;
- latency p50 against the record's per-run p50 spread (timing is never identical; it is placed).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suite.config import profile_sha256
from suite.errors import EXIT_JOBS_FAILED, EXIT_OK, BadInput
from suite.machine.target import load_target
from suite.records.store import atomic_write_json, load_record


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _materialise(
    source: dict[str, Any] | None,
    want_sha: str | None,
    fallback: str | None,
    dest: Path,
    what: str,
    record_path: Path,
    digest: Callable[[bytes], str] = _sha256,
) -> Path:
    """The config file of the record: the original path if it still has the recorded hash, else the
    text embedded in the record written to ``dest``. ``digest``: how that hash was made (a profile's
    leaves out its peak block)."""
    if fallback and want_sha:
        path = Path(fallback)
        if path.is_file() and digest(path.read_bytes()) == want_sha:
            return path  # relative paths inside it keep resolving against its own folder
    text = (source or {}).get("text")
    if text is None:
        raise BadInput(
            f"{record_path}: sources.{what}: the record does not embed its {what} file and {fallback or 'the original'} "
            f"is gone or changed (expected sha256 {want_sha}); records from before reproduce support cannot be rebuilt"
        )
    data = text.encode("utf-8")
    if want_sha and digest(data) != want_sha:
        raise BadInput(
            f"{record_path}: sources.{what}.text: its sha256 is not the recorded {want_sha}; the record was edited"
        )
    dest.write_bytes(data)
    return dest


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Where two JSON values differ, as ``key: old -> new`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            out += _diff(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')}: {a!r} -> {b!r}"]


def package_differences(record: dict[str, Any]) -> list[str]:
    """``name recorded -> here`` for every package the record names (its environment's and its inputs')
    whose installed version here differs, Python included; ``(none)`` where one side lacks it."""
    from suite.machine.envinfo import package_versions

    env = record.get("environment") or {}
    recorded = {**((record.get("inputs") or {}).get("packages") or {}), **(env.get("packages") or {})}
    here = package_versions(tuple(recorded))
    lines = [
        f"{name} {recorded[name]} -> {here.get(name, '(none)')}"
        for name in sorted(recorded)
        if here.get(name) != recorded[name]
    ]
    if env.get("python"):
        import platform

        if env["python"] != platform.python_version():
            lines.append(f"python {env['python']} -> {platform.python_version()}")
    return lines


def plan_from_record(record: dict[str, Any], record_path: Path, workdir: Path) -> Any:
    """The Job that produced ``record``, planned again from the record's own sources and parameters."""
    from suite.job.plan import plan
    from suite.job.request import SweepRequest

    sources = record.get("sources") or {}
    inputs = record.get("inputs") or {}
    task_src, profile_src = sources.get("task") or {}, sources.get("profile") or {}
    task_path = _materialise(
        task_src, record["task"].get("file_sha256"), task_src.get("path"), workdir / "task.yaml", "task", record_path
    )
    target_path = _materialise(
        profile_src,
        inputs.get("profile_sha256"),
        profile_src.get("path"),
        workdir / "profile.yaml",
        "profile",
        record_path,
        digest=profile_sha256,
    )
    profile = load_target(str(target_path))
    method = record["method"]["name"]
    request = SweepRequest(
        target=str(target_path),
        tasks=(str(task_path),),
        methods=(method,),
        runtimes=(record["runtime"]["name"],),
        quick=bool(inputs.get("quick")),
        limit=inputs.get("limit"),
        override_target=True,
        method_params={method: dict(record["method"].get("params") or {})},
        mlperf=inputs.get("timing", "mlperf") != "precision",
    )
    jobs = plan(profile, request).jobs
    if len(jobs) != 1:
        raise BadInput(f"{record_path}: the record's job does not plan to one job on this machine (got {len(jobs)})")
    return jobs[0]


def compare(record: dict[str, Any], again: dict[str, Any], deterministic: bool) -> tuple[list[str], bool]:
    """Lines to print and whether the job reproduced (accuracy identical; artifact hash identical unless
    the method's library is known not to be byte-deterministic)."""
    lines: list[str] = []
    ok = True
    acc, acc2 = record.get("accuracy") or {}, again.get("accuracy") or {}
    same_acc = (
        acc.get("top1") == acc2.get("top1") and acc.get("top5") == acc2.get("top5") and acc.get("n") == acc2.get("n")
    )
    ok &= same_acc
    lines.append(
        f"accuracy   top1 {acc2.get('top1')} vs recorded {acc.get('top1')} (n={acc2.get('n')}): "
        + ("identical" if same_acc else "DIFFERENT")
    )
    w, w2 = record["task"].get("weights_sha256"), again["task"].get("weights_sha256")
    lines.append(
        f"model      weights sha256 {str(w2)[:16]}… vs recorded {str(w)[:16]}…: "
        + ("identical" if w == w2 else "DIFFERENT (training did not repeat)")
    )
    ok &= w == w2
    art, art2 = record.get("artifact") or {}, again.get("artifact") or {}
    same_hash = art.get("sha256") == art2.get("sha256")
    if same_hash:
        verdict = "identical"
    elif deterministic:
        verdict = "DIFFERENT"
        ok = False
    else:
        verdict = "different bytes (this method's library is not byte-deterministic; accuracy decides)"
    lines.append(
        f"artifact   sha256 {str(art2.get('sha256'))[:16]}… vs recorded {str(art.get('sha256'))[:16]}…: {verdict}"
    )
    lat, lat2 = record.get("latency") or {}, again.get("latency") or {}
    runs = [v for v in lat.get("per_run_p50_ms") or [] if v is not None]
    p50 = lat2.get("p50_ms")
    if p50 is not None and runs:
        lo, hi = min(runs), max(runs)
        where = "inside" if lo <= p50 <= hi else ("below" if p50 < lo else "above")
        lines.append(
            f"latency    p50 {p50:.4f} ms vs recorded {lat.get('p50_ms'):.4f} ms (runs {lo:.4f}–{hi:.4f} ms, "
            f"cv {lat.get('cv') or 0:.2f}): {where} the recorded spread"
        )
    elif p50 is not None:
        lines.append(f"latency    p50 {p50:.4f} ms; the record has no per-run spread")
    return lines, ok


def reproduce(record_path: Path, out: Path | None, console: Any, keep: Path | None = None) -> int:
    """Rebuild and compare; ``keep`` is a folder to do it in and leave behind (cache, artifact, record)."""
    from suite.job.build import run_job
    from suite.job.isolate import JobProcess
    from suite.registry import methods

    record = load_record(record_path)
    if record.get("status") != "ok":
        raise BadInput(
            f"{record_path}: status: got {record.get('status')!r}, expected 'ok' (only a finished job can be reproduced)"
        )
    if keep is not None and keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep: {keep} is not empty; give a new or empty folder (the rebuild must start from nothing)")
    with tempfile.TemporaryDirectory(prefix="edgeq-reproduce-") as tmp:
        workdir = Path(tmp) if keep is None else keep.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        job = plan_from_record(record, record_path, workdir)
        console.print(f"reproduce  {job.label} from {record_path}", soft_wrap=True)
        if job.fingerprint == record.get("fingerprint"):
            console.print(f"inputs     fingerprint {job.fingerprint[:16]}…: identical")
        else:
            changed = _diff(record.get("inputs") or {}, job.inputs)
            console.print(
                f"inputs     fingerprint differs: {'; '.join(changed) or 'fingerprint scheme changed'} (numbers may move)"
            )
        changed_packages = package_differences(record)
        if changed_packages:
            console.print(
                f"packages   differ from the record's (numbers may move): {'; '.join(changed_packages)}",
                soft_wrap=True,
                markup=False,
            )
        else:
            console.print("packages   the versions the record names are the ones installed here")
        console.print("rebuilding with an empty cache: training, quantizing, evaluating, timing ...")
        env = {"EDGEQ_CACHE_DIR": str(workdir / "cache"), "EDGEQ_RESULTS_DIR": str(workdir / "results")}
        profile = load_target(job.target_path).config
        with JobProcess(run_job, env=env) as process:
            again = process.run(job, profile.measurement.job_timeout_s)
        if again["status"] != "ok":
            console.print(f"[red]the job failed when rebuilt:[/] {again['error']}")
            for line in again.get("error_tail") or []:
                console.print(f"  {line}", markup=False)
            return EXIT_JOBS_FAILED
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out, again)
            console.print(f"written    {out}")
        deterministic = bool(methods.meta(job.method).get("deterministic", True))
        lines, ok = compare(record, again, deterministic)
        for line in lines:
            console.print(line, markup=False, soft_wrap=True)
        console.print("reproduced" if ok else "[red]NOT reproduced[/]: see the lines marked DIFFERENT")
        return EXIT_OK if ok else EXIT_JOBS_FAILED
