"""Does onnxruntime-genai load an EdgeQ causal-LM artifact, and does it generate what EdgeQ's loop does?

    .venv/bin/python tools/genai_check.py ARTIFACT.onnx [--tokens 16] [--prompt-len 8]

EdgeQ's LM graphs follow the names onnxruntime-genai expects (``input_ids``, ``attention_mask``,
``position_ids``, ``past_key_values.<i>.key|value`` in; ``logits``, ``present.<i>.key|value`` out), so
genai needs only a ``genai_config.json`` beside the model. This writes one, derived from the graph
itself (layers, kv heads, head size, vocabulary), into a temporary folder next to a link to the
artifact, generates greedy tokens from a fixed prompt with ``og.Generator``, does the same with
EdgeQ's own loop (suite/measure/lm_timing.py on ONNX Runtime), and prints both and whether they agree.
It is a check, not a runtime: EdgeQ times LMs with LoadGen around its own loop.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def genai_config(graph, vocab: int, context: int) -> dict:  # type: ignore[no-untyped-def]
    layers = len(graph.past) // 2
    return {
        "model": {
            "bos_token_id": 0,
            "eos_token_id": vocab - 1,
            "pad_token_id": 0,
            "type": "llama",
            "vocab_size": vocab,
            "context_length": context,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx",
                "head_size": graph.head_dim,
                "hidden_size": graph.head_dim * graph.kv_heads,
                "num_attention_heads": graph.kv_heads,
                "num_hidden_layers": layers,
                "num_key_value_heads": graph.kv_heads,
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "position_ids": "position_ids",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
            },
        },
        "search": {
            "do_sample": False,
            "max_length": context,
            "num_beams": 1,
            "past_present_share_buffer": False,
            "top_k": 1,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--prompt-len", type=int, default=8)
    args = parser.parse_args()

    import onnxruntime as ort
    import onnxruntime_genai as og

    from suite.measure.lm_timing import greedy
    from suite.runtimes.lm_feeds import LmGraph

    session = ort.InferenceSession(str(args.artifact), providers=["CPUExecutionProvider"])
    graph = LmGraph.of_ort(session)
    prompt = np.arange(1, args.prompt_len + 1, dtype=np.int64)[None] * 7
    logits, _ = graph.prefill(lambda feeds: session.run(None, feeds), prompt)
    vocab = int(logits.shape[-1])
    prompt %= vocab

    class Ort:
        run_feeds = staticmethod(lambda feeds: session.run(None, feeds))

    ours = greedy(Ort, graph, prompt, args.tokens)
    with tempfile.TemporaryDirectory(prefix="edgeq-genai-") as tmp:
        (Path(tmp) / "model.onnx").symlink_to(args.artifact.resolve())
        (Path(tmp) / "genai_config.json").write_text(
            json.dumps(genai_config(graph, vocab, args.prompt_len + args.tokens + 8))
        )
        model = og.Model(tmp)
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=args.prompt_len + args.tokens, do_sample=False)
        generator = og.Generator(model, params)
        generator.append_tokens(prompt[0].tolist())
        theirs: list[int] = []
        while not generator.is_done() and len(theirs) < args.tokens:
            generator.generate_next_token()
            theirs.append(int(generator.get_next_tokens()[0]))
    print(f"onnxruntime-genai {og.__version__} loaded {args.artifact}")
    print(f"genai : {theirs}")
    print(f"edgeq : {ours}")
    same = bool(theirs) and theirs == ours[: len(theirs)]  # genai stops early if it draws eos (vocab - 1)
    print("same greedy tokens" if same else "the greedy tokens differ")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
