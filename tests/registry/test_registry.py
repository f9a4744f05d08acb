"""The registry: decorators, lazy entries, entry points, clear errors; listing never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from suite.errors import BadInput
from suite.registry import Registry


def test_decorator_and_lookup() -> None:
    reg = Registry("widgets")

    @reg.register("alpha", colour="red")
    class Alpha:
        pass

    assert reg.get("alpha") is Alpha
    assert reg.meta("alpha") == {"colour": "red"}
    assert reg.names() == ["alpha"]


def test_lazy_entry_resolves_on_get_and_decorator_fills_it() -> None:
    reg = Registry("things")
    reg.add_lazy("dumps", "json:dumps", summary="stdlib")
    assert reg.entry("dumps").obj is None
    assert reg.get("dumps") is json.dumps


def test_unknown_name_suggests_close_match() -> None:
    reg = Registry("methods")
    reg.add_lazy("ptq-static", "json:dumps")
    with pytest.raises(BadInput, match=r"unknown method 'ptq-statc'; did you mean 'ptq-static'\?"):
        reg.get("ptq-statc")


def test_duplicate_name_is_an_error() -> None:
    reg = Registry("things")
    reg.add("a", object())
    with pytest.raises(BadInput, match="registered twice"):
        reg.add("a", object())


def test_missing_module_of_lazy_entry_is_one_line() -> None:
    reg = Registry("things")
    reg.add_lazy("ghost", "no_such_module_xyz:thing")
    with pytest.raises(BadInput, match="needs 'no_such_module_xyz'"):
        reg.get("ghost")


def test_edgeq_list_does_not_import_torch_or_tensorflow() -> None:
    code = (
        "import sys\n"
        "from suite.cli.main import app\n"
        "for kind in ['methods', 'tasks', 'targets', 'runtimes', 'sensors']:\n"
        "    try:\n"
        "        app(['list', kind], standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'mlflow', 'pandas', 'onnxruntime') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "ptq-static" in out.stdout and "local-cpu" in out.stdout and "digits-cnn" in out.stdout
