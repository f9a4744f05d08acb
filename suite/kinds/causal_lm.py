"""Causal language models: perplexity of the held-out windows through the session that is then timed
(lower is better), against the fp32 record's; timed as generations of the task's new tokens after a fixed
prompt, with LoadGen's token latencies (time to first token, time per output token, decode rate)."""

from __future__ import annotations

from typing import Any

from suite.config.schemas import GenerationSpec
from suite.kinds.base import KindRun, TaskKind, Timed
from suite.kinds.settings import scenario
from suite.records.fields import CAUSAL_LM


class CausalLm(TaskKind):
    name = CAUSAL_LM
    metric = "perplexity"

    def accuracy(self, run: KindRun) -> dict[str, Any]:
        """Perplexity of the held-out windows and the fp32 baseline's, as the record's ``accuracy`` block."""
        from suite.measure.lm_eval import perplexity

        accuracy = perplexity(run.session, run.x_eval, run.y_eval, vocab=run.task.num_classes)
        fp32 = accuracy["perplexity"] if run.is_baseline else run.baseline_accuracy("perplexity")
        accuracy.update(
            fp32_perplexity=fp32,
            delta_perplexity=(accuracy["perplexity"] - fp32) if fp32 is not None else None,
            fp32_top1=None,
            delta_top1=None,
            simulated_top1=run.simulated_top1,
            window=run.dataset.get("window"),
            stride=run.dataset.get("stride"),
        )
        return accuracy

    def time(self, run: KindRun) -> Timed:
        """A generation is one LoadGen query with token latencies; its early-stopping rule wants at least
        64 queries, so language models are timed to fixed counts in both modes (mode "mlperf")."""
        from suite.measure.lm_timing import measure_generation

        m = run.profile.measurement
        gen = run.task.generation or GenerationSpec.model_validate({})  # the defaults
        ss = scenario(run.profile, "single_stream", run.quick)
        run.ready()
        latency, throughput, tokens = measure_generation(
            run.session,
            run.x_eval[0, : gen.prompt_tokens],
            gen.new_tokens,
            runs=m.runs,
            min_duration_s=ss.min_duration_s,
            min_queries=min(gen.min_queries, 16) if run.quick else gen.min_queries,
            warmup_queries=gen.warmup_queries,
            cv_threshold=m.cv_threshold,
            quick=run.quick,
            on_start=run.power_start,
            on_stop=run.power_stop,
        )
        return Timed(latency, throughput, tokens)
