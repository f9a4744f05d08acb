"""A BERT-style encoder (MiniLM's architecture) exported as the text tasks export it, counted at the task's
[input_ids, attention_mask] shape, against the arithmetic written out from its config."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.compute.graph import compute_block


@pytest.mark.slow
def test_bert_encoder_macs_match_the_config_arithmetic(tmp_path: Path) -> None:
    import torch
    import transformers

    from suite.zoo.hf_export import export_encoder

    hidden, inter, layers, heads, classes, seq = 64, 128, 2, 4, 3, 16
    config = transformers.BertConfig(
        hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads, vocab_size=500
    )

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = transformers.BertModel(config, add_pooling_layer=False)
            self.head = torch.nn.Linear(hidden, classes)

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            embedding = states.mean(dim=1)
            return self.head(embedding), embedding

    torch.manual_seed(0)
    path = export_encoder(Classifier().eval(), seq, tmp_path / "encoder.onnx")
    block = compute_block(path, [2, seq], ["input_ids", "attention_mask"])
    # per layer and token: Q, K, V, O (hidden x hidden) and the two feed-forward matrices; attention: Q K^T
    # and softmax V over every token pair, every head (heads x head_dim = hidden); the head
    expected = layers * (seq * (4 * hidden * hidden + 2 * hidden * inter) + 2 * seq * seq * hidden) + hidden * classes
    assert block["macs_per_item"] == expected, block
    assert "Softmax" in block["uncounted_ops"]
