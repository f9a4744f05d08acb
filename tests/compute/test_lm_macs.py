"""Per-token work of a KV-cache LM graph against the Llama arithmetic written out from the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.compute.lm import lm_compute_block


@pytest.mark.slow
def test_llama_prompt_and_decode_macs_and_bytes_match_the_config_arithmetic(tmp_path: Path) -> None:
    import torch
    import transformers

    from suite.zoo.hf_export import export_causal_lm

    hidden, inter, layers, heads, kv_heads, vocab = 64, 96, 2, 4, 2, 300
    head_dim = hidden // heads
    config = transformers.LlamaConfig(
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        vocab_size=vocab,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    path = export_causal_lm(model, tmp_path / "lm.onnx")
    prompt, new = 8, 5
    block = lm_compute_block(path, prompt, new)

    # q, o: hidden x hidden; k, v: hidden x kv_heads*head_dim; gate, up, down: hidden x intermediate; the head
    linear = layers * (2 * hidden * hidden + 2 * hidden * kv_heads * head_dim + 3 * hidden * inter) + hidden * vocab

    def attention(queries: int, keys: int) -> int:  # Q K^T and (softmax) V, every query head
        return layers * 2 * heads * queries * keys * head_dim

    assert block["prompt"]["macs_per_token"] == linear + attention(prompt, prompt) / prompt
    pasts = block["decode"]["past_tokens"]
    assert pasts == [prompt, prompt + new - 2]
    assert block["macs_per_item"] == linear + sum(attention(1, p + 1) for p in pasts) / 2
    assert block["ops_per_item"] == 2 * block["macs_per_item"]
    kv_per_token = layers * 2 * kv_heads * head_dim * 4
    assert block["kv_cache_bytes_per_token"] == kv_per_token
    params = sum(p.numel() for p in model.parameters())
    # fp32 weights, give or take the exporter's folding of norm weights and its rotary and shape constants
    assert abs(block["weight_bytes"] - 4 * params) < 0.01 * 4 * params
    assert block["bytes_per_decoded_token"] == block["weight_bytes"] + kv_per_token * sum(pasts) / 2
    assert block["counted_ops"] == {"MatMul": layers * 9 + 1}
    assert "Softmax" in block["not_counted"]


def test_a_graph_without_a_cache_says_so(tmp_path: Path) -> None:
    from tests.support.models import tiny_onnx

    block = lm_compute_block(tiny_onnx(tmp_path / "tiny.onnx"), 8, 4)
    assert block["macs_per_item"] is None and "not a KV-cache LM graph" in block["reason"]


@pytest.mark.slow
def test_int4_matmul_nbits_lm_counts_the_float_graphs_macs(tmp_path: Path) -> None:
    import onnx
    import torch
    import transformers
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    from suite.zoo.hf_export import export_causal_lm

    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=300,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    fp32 = export_causal_lm(transformers.LlamaForCausalLM(config).eval(), tmp_path / "lm.onnx")
    quantizer = MatMulNBitsQuantizer(onnx.load(fp32), block_size=32, is_symmetric=True)
    quantizer.process()
    quantizer.model.save_model_to_file(str(tmp_path / "int4.onnx"), False)
    float_block, int4_block = lm_compute_block(fp32, 8, 5), lm_compute_block(tmp_path / "int4.onnx", 8, 5)
    assert int4_block["counted_ops"].get("MatMulNBits", 0) >= 14  # the 7 projections of both layers (+ the head)
    assert int4_block["macs_per_item"] == float_block["macs_per_item"]
    assert int4_block["prompt"] == float_block["prompt"]
    assert int4_block["weight_bytes"] < float_block["weight_bytes"] / 2
