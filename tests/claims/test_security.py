"""Trust nothing loaded: no unsafe loaders in the code, archives stay inside their destination, the UI
binds to 127.0.0.1."""

from __future__ import annotations

import ast
import io
import os
import signal
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from suite.bundle.archives import safe_extract
from suite.errors import BadInput
from tests.conftest import REPO, free_port

SOURCES = sorted((REPO / "suite").rglob("*.py")) + sorted((REPO / "tools").rglob("*.py"))


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def unsafe_calls(path: Path) -> list[str]:
    """Calls that load code from data or hand a string to a shell, as ``file:line: what``."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        where = f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{node.lineno}"
        if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all"):
            found.append(f"{where}: {name} (use suite.config.read_yaml)")
        elif name in ("yaml.safe_load", "yaml.safe_load_all", "yaml.compose") and path.name != "safe_yaml.py":
            found.append(
                f"{where}: {name} has no size or alias-expansion bound (use suite.config.read_yaml or safe_yaml.parse_yaml)"
            )
        elif name.endswith("torch.load") and not _is_true(_kw(node, "weights_only")):
            found.append(f"{where}: torch.load without weights_only=True")
        elif name in ("pickle.load", "pickle.loads", "dill.load", "dill.loads", "joblib.load", "cloudpickle.load"):
            found.append(f"{where}: {name} unpickles code")
        elif name.endswith("np.load") or name.endswith("numpy.load"):
            if _is_true(_kw(node, "allow_pickle")):
                found.append(f"{where}: np.load(allow_pickle=True)")
        elif _is_true(_kw(node, "shell")):
            found.append(f"{where}: {name}(shell=True)")
        elif name in ("os.system", "os.popen") or (isinstance(node.func, ast.Name) and name in ("eval", "exec")):
            found.append(f"{where}: {name}")
        elif name.rpartition(".")[2] in ("extractall", "extract") and isinstance(node.func, ast.Attribute):
            if path.name != "archives.py":
                found.append(
                    f"{where}: {name} outside suite/bundle/archives.py (use suite.bundle.archives.safe_extract)"
                )
    return found


def test_no_unsafe_loader_or_shell_in_the_code() -> None:
    assert SOURCES
    problems = [p for path in SOURCES for p in unsafe_calls(path)]
    assert not problems, "\n".join(problems)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scanner above is not vacuous: each pattern it forbids is caught in a sample."""
    sample = tmp_path / "sample.py"
    code = (
        "import yaml, torch, pickle, subprocess, os, numpy as np, tarfile\n"
        "yaml.load(s)\ntorch.load(p)\ntorch.load(p, weights_only=False)\npickle.loads(b)\n"
        "subprocess.run(cmd, shell=True)\nos.system(c)\nnp.load(f, allow_pickle=True)\ntarfile.open(a).extractall(d)\n"
        "yaml.safe_load(s)\n"
        "parse_yaml(s, 'x')\ntorch.load(p, weights_only=True)\nnp.load(f)\nsubprocess.run(['ls'])\n"
    )
    sample.write_text(code)
    found = unsafe_calls(sample)
    assert len(found) == 9, found


# ------------------------------------------------------------------------------------ archives
def _tar(path: Path, members: list[tarfile.TarInfo], payload: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            if info.isfile():
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_safe_extract_unpacks_a_normal_bundle(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "ok.tar.gz", [_member("bundle/model.onnx"), _member("bundle/records/r.json")])
    out = safe_extract(archive, tmp_path / "dest")
    assert sorted(p.relative_to(tmp_path / "dest").as_posix() for p in out) == [
        "bundle/model.onnx",
        "bundle/records/r.json",
    ]
    assert (tmp_path / "dest" / "bundle" / "model.onnx").read_bytes() == b"x"
    zpath = tmp_path / "ok.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("a/b.txt", "hello")
    safe_extract(zpath, tmp_path / "zdest")
    assert (tmp_path / "zdest" / "a" / "b.txt").read_text() == "hello"


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ([_member("ok.txt"), _member("../escape.txt")], "climbs out of the destination"),
        ([_member("/etc/evil.txt")], "absolute path"),
        ([_member("lib", tarfile.SYMTYPE, "/etc"), _member("lib/passwd")], "links outside the destination"),
        ([_member("up", tarfile.SYMTYPE, "../../.."), _member("up/x")], "links outside the destination"),
        ([_member("hard", tarfile.LNKTYPE, "../../etc/passwd")], "links outside the destination"),
        ([_member("dev", tarfile.CHRTYPE)], "device or FIFO"),
    ],
)
def test_safe_extract_refuses_members_that_leave_the_destination(tmp_path: Path, members: list, expected: str) -> None:
    archive = _tar(tmp_path / "evil.tar.gz", members)
    dest = tmp_path / "dest"
    with pytest.raises(BadInput, match=expected) as info:
        safe_extract(archive, dest)
    assert "\n" not in str(info.value) and "evil.tar.gz" in str(info.value)
    assert list(dest.rglob("*")) == []  # refused as a whole: nothing written, not even ok.txt
    assert not (tmp_path / "escape.txt").exists()


def test_safe_extract_refuses_zip_slip_and_truncated_archives(tmp_path: Path) -> None:
    zpath = tmp_path / "slip.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr("../../slip.txt", "gotcha")
    with pytest.raises(BadInput, match="climbs out of the destination"):
        safe_extract(zpath, tmp_path / "dest")
    assert list((tmp_path / "dest").rglob("*")) == []
    good = _tar(tmp_path / "good.tar.gz", [_member(f"f{i}") for i in range(50)], payload=os.urandom(2000))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BadInput, match="corrupt or truncated archive"):
        safe_extract(cut, tmp_path / "dest2")


# ------------------------------------------------------------------------------------------ UI
def test_ui_binds_to_loopback_unless_asked(results_dir: Path) -> None:
    """``edgeq ui`` prints the exact command it then execs (mlflow ui), after its links: 127.0.0.1 unless
    --host says otherwise. Stopped (by its process group) as soon as it has said it; starting the UI takes ~20 s."""

    def command(*extra: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "suite", "ui", "--port", str(free_port()), *extra],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # the runs-table links of each task experiment come first
                if line.startswith("running: "):
                    return line
            return ""
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    default = command()
    assert default.startswith("running: ") and " mlflow ui " in default
    assert " --host 127.0.0.1 " in default
    assert " --host 0.0.0.0 " in command("--host", "0.0.0.0")
