"""Third-party plugins through entry points: the example package of docs/plugins.md, really installed.

``examples/plugin_pkg`` (distribution ``edgeq-example-plugin``) is built and installed with pip into a
temporary folder (``--no-deps --no-build-isolation --no-index``: the venv's setuptools builds it, nothing
is downloaded), and that folder is put on ``PYTHONPATH`` for the CLI, so its ``edgeq.*`` entry points are
found exactly as an installed package's would be (the sweep's spawned job process inherits the
variable). Then: ``edgeq list`` shows the method, runtime and sensor with their ``plugin_meta``
summaries, ``edgeq doctor`` asks the plugin runtime for its own status line, and one quick job
prepares with the plugin method, runs with the plugin runtime and measures with the plugin sensor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, edgeq

pytestmark = pytest.mark.slow

PKG = REPO / "examples" / "plugin_pkg"
# The summaries in the plugins' plugin_meta (edgeq_example_plugin/*.py), as `edgeq list` prints them.
LISTED = {
    "methods": ("example-fp16-weights", "example plugin: float32 weights rounded to float16 values"),
    "runtimes": ("example-ort", "example plugin: ONNX Runtime CPU, graph optimizations off, sequential"),
    "sensors": ("example-file-meter", "example plugin: watts read from a text file (options.path)"),
}
WATTS = 5.0


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package installed with pip into a folder of its own (built from a copy of its
    source, so the build's ``build/`` and ``*.egg-info`` never land in the repository)."""
    check = subprocess.run([sys.executable, "-c", "import setuptools"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(
            f"setuptools does not import in {sys.executable} (pip --no-build-isolation builds with it): {check.stderr.strip()[-200:]}"
        )
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "--target",
        str(site),
        str(src),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(site.glob("edgeq_example_plugin-*.dist-info/entry_points.txt")), sorted(p.name for p in site.iterdir())
    return site


def plugin_env(site: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "COLUMNS": "250"}  # wide: rich wraps the sweep table at 80 otherwise


def plugin_profile(tmp_path: Path) -> Path:
    """local-cpu with the plugin runtime as its only runtime and the plugin meter before ``none``."""
    watts = tmp_path / "watts.txt"
    watts.write_text(f"{WATTS}\n")
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["runtimes"] = [{"name": "example-ort", "threads": 1}]
    data["power"] = [{"name": "example-file-meter", "options": {"path": str(watts)}}, "none"]
    path = tmp_path / "local-cpu-plugins.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_list_and_doctor_show_the_plugins(plugin_site: Path, tmp_path: Path) -> None:
    env = plugin_env(plugin_site)
    for kind, (name, summary) in LISTED.items():
        r = edgeq("list", kind, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith(name + " ")), None)
        assert line is not None, f"{name} not in `edgeq list {kind}`:\n{r.stdout}"
        assert summary in line, line
        if kind == "methods":  # family, the simulated label and the format come from plugin_meta too
            assert line.split()[1:4] == ["fp16", "simulated", "onnx"], line

    r = edgeq("doctor", "--target", str(plugin_profile(tmp_path)), env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "ok   example-ort: example-ort on onnxruntime " in out  # ExampleOrt.status(), not the default
    assert "CPUExecutionProvider, graph optimizations off" in out
    assert "example-file-meter available (boundary board_input, integrated_samples)" in out
    assert "-> power from: example-file-meter (board_input)" in out


def test_one_job_with_plugin_method_runtime_and_sensor(plugin_site: Path, tmp_path: Path, results_dir: Path) -> None:
    profile = plugin_profile(tmp_path)
    r = edgeq(
        "bench",
        "--target",
        str(profile),
        "--tasks",
        "digits-cnn",
        "--methods",
        "example-fp16-weights",
        "--quick",
        "--no-mlflow",
        env=plugin_env(plugin_site),
        timeout=300,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Traceback" not in out
    assert "example-ort noopt" in r.stdout, r.stdout  # ExampleOrt.label() in the sweep's table

    files = sorted((results_dir / "records").rglob("*.json"))
    assert len(files) == 1, files
    record = json.loads(files[0].read_text())
    assert record["status"] == "ok", record.get("error")
    assert record["method"]["name"] == "example-fp16-weights"
    assert record["method"]["family"] == "fp16"
    art = record["artifact"]
    assert art["simulated"] is True
    assert art["precision_map"] == {"fp32": 4}  # read from the file: float32 layers, as it says
    assert art["details"]["rounded_initializers"] > 0
    assert record["accuracy"]["top1"] > 0.9  # float16-rounded weights still classify the digits
    rt = record["runtime"]
    assert rt["name"] == "example-ort"
    assert rt["threads"] == 1 and rt["provider"] == "CPUExecutionProvider" and rt["fallback"] is False
    assert rt["graph_optimization"] == "disabled"
    pw = record["power"]
    assert pw["status"] == "measured", pw
    assert pw["sensor"] == "example-file-meter"
    assert pw["boundary"] == "board_input" and pw["method"] == "integrated_samples"
    assert pw["avg_w"] == pytest.approx(WATTS, rel=0.02)
    assert pw["samples"] >= 2
