"""The Coral profile's LiteRT path: the Edge TPU delegate is loaded through LiteRT's own delegate loading.

No Edge TPU here, so the loading path is proven with a real delegate library built by the test with gcc
(tests/support/delegate/claims_nothing.c, the TFLite external-delegate plugin ABI that libedgetpu
exports): LiteRT loads it, calls its Prepare, and the record says the delegate took 0 nodes. Without a
loadable library the job is skipped with one line naming the library and how to install it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from suite.config import load_profile_file, target_file
from suite.config.schemas import RuntimeSpec
from suite.errors import NotAvailableHere
from suite.runtimes import litert

pytest.importorskip("ai_edge_litert")
SOURCE = Path(__file__).resolve().parents[1] / "support" / "delegate" / "claims_nothing.c"


@pytest.fixture(scope="module")
def delegate_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        if os.environ.get("CI"):
            pytest.fail("gcc is missing: the delegate test builds its library with it (apt-get install gcc)")
        pytest.skip("gcc is missing: the delegate test builds its library with it (apt-get install gcc)")
    out = tmp_path_factory.mktemp("delegate") / "libclaims_nothing.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(out), str(SOURCE)], check=True)
    return out


@pytest.fixture(scope="module")
def tflite_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-op float model (FULLY_CONNECTED + SOFTMAX) written by LiteRT's converter."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    weights = tf.constant(rng.normal(size=(8, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def model(x):  # type: ignore[no-untyped-def]
        return tf.nn.softmax(tf.matmul(x, weights))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
    path = tmp_path_factory.mktemp("model") / "tiny.tflite"
    path.write_bytes(converter.convert())
    return path


def test_edgetpu_delegate_is_loaded_through_litert_and_claims_nothing(delegate_library: Path, tflite_model: Path):
    spec = RuntimeSpec(
        name="litert",
        threads=1,
        options={
            "delegate": "edgetpu",
            "delegate_library": str(delegate_library),
            "delegate_options": {"device": "usb"},
        },
    )
    session = litert.LiteRtRuntime().load(tflite_model, spec)
    x = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    got = session.predict(x)

    lib = ctypes.CDLL(str(delegate_library))  # the same loaded object LiteRT opened: its counters
    assert ctypes.c_int.in_dll(lib, "created").value >= 1
    assert ctypes.c_int.in_dll(lib, "prepare_calls").value >= 1, "LiteRT never applied the delegate to a graph"
    assert ctypes.c_char_p(ctypes.addressof(ctypes.c_char.in_dll(lib, "last_option"))).value == b"device=usb;"

    info = session.info()
    assert info["delegate"] == "EdgeTPU"
    assert info["delegate_library"] == str(delegate_library)
    assert info["delegation"]["delegated_nodes"] == 0 and info["delegation"]["total_nodes"] >= 2
    assert info["provider"] == "builtin kernels" and info["fallback"] is True

    plain = litert.LiteRtRuntime().load(
        tflite_model, RuntimeSpec(name="litert", threads=1, options={"delegate": "none"})
    )
    np.testing.assert_array_equal(got, plain.predict(x))


def test_missing_libedgetpu_skips_with_one_line(tflite_model: Path):
    spec = RuntimeSpec(
        name="litert", threads=1, options={"delegate": "edgetpu", "delegate_library": "libedgetpu-absent.so.1"}
    )
    with pytest.raises(NotAvailableHere) as caught:
        litert.LiteRtRuntime().load(tflite_model, spec)
    message = str(caught.value)
    assert "\n" not in message
    assert "libedgetpu-absent.so.1" in message and "apt-get install libedgetpu1-std" in message


# LiteRT's Delegate.__del__ runs on its half-built object (no entry point found) and raises there.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_library_without_the_delegate_entry_points_skips_with_one_line(tflite_model: Path):
    spec = RuntimeSpec(name="litert", threads=1, options={"delegate": "edgetpu", "delegate_library": "libm.so.6"})
    with pytest.raises(NotAvailableHere, match=r"^libm\.so\.6 loaded but its delegate did not start .*plugged in"):
        litert.LiteRtRuntime().load(tflite_model, spec)


def test_coral_profile_asks_for_libedgetpu_and_status_names_it():
    profile = load_profile_file(target_file("coral-usb")).config
    (edgetpu,) = [r for r in profile.runtimes if r.name == "litert" and r.options.get("delegate") == "edgetpu"]
    status = litert.LiteRtRuntime().status(edgetpu)
    try:
        ctypes.CDLL(litert.EDGETPU_LIBRARY)
        present = True
    except OSError:
        present = False
    assert status.ok is present
    assert litert.EDGETPU_LIBRARY in status.summary
    if not present:
        assert "apt-get install libedgetpu1-std" in status.summary
