"""Causal language models: perplexity of the held-out windows through the session that is then timed
(lower is better), against the fp32 record's; timed as generations of the task's new tokens after a fixed
prompt, with LoadGen's token latencies (time to first token, time per output token, decode rate).

The same perplexity pass gives the logit fidelity (``accuracy.fidelity``, ``suite.measure.lm_fidelity``):
the fp32 baseline writes its top-K reference next to its record, every other job of the task reads the
reference of the baseline it is compared with and scores KL divergence, top-1 agreement and delta-p on the
same tokens, and the paired interval of its perplexity difference (``accuracy.vs_fp32``). The baseline
records itself as the reference (KLD 0, agreement 1, ``reference.is_reference``); a job whose reference
is missing records why instead of figures.
"""

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

        observer, why = fidelity_observer(run)
        accuracy = perplexity(run.session, run.x_eval, run.y_eval, vocab=run.task.num_classes, observer=observer)
        accuracy["fidelity"] = fidelity_block(run, observer, why, accuracy)
        if not run.is_baseline and run.baseline is not None:
            accuracy["vs_fp32"] = paired_perplexity(run.baseline, accuracy["fidelity"])
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


def fidelity_observer(run: KindRun) -> tuple[Any, str | None]:
    """What watches the perplexity pass: the baseline's reference writer, another job's scorer against the
    baseline's reference, or nothing and the reason."""
    from suite.measure import lm_fidelity

    if run.is_baseline:
        return lm_fidelity.ReferenceWriter(), None
    if run.baseline is None:
        return None, "no fp32 record of this task, target and runtime entry measured like this job (run fp32 first)"
    base_id = str(run.baseline.get("job_id"))
    path = run.side_file(base_id, lm_fidelity.SUFFIX)
    if path is None or not path.is_file():
        return None, (
            f"the fp32 record {base_id} has no logit reference next to it ({base_id}{lm_fidelity.SUFFIX}: measured "
            "before references were kept, or on another machine); `edgeq bench --force --methods fp32` writes it"
        )
    try:
        return lm_fidelity.FidelityScorer(lm_fidelity.load_reference(path)), None
    except ValueError as exc:
        return None, f"the fp32 logit reference is not readable: {exc}"


def fidelity_block(run: KindRun, observer: Any, why: str | None, accuracy: dict[str, Any]) -> dict[str, Any]:
    """The record's ``accuracy.fidelity``: the baseline writes its reference and records itself as it."""
    from suite.measure import lm_fidelity

    if isinstance(observer, lm_fidelity.ReferenceWriter):
        windows = len(observer.parts)
        block = lm_fidelity.self_block(run.job_id, observer.k, int(accuracy["tokens_scored"]), windows)
        path = run.side_file(run.job_id, lm_fidelity.SUFFIX)
        if path is None:
            block["reference"]["written"] = "no: this job has no record folder to keep it in"
            return block
        try:
            observer.save(path, run.job_id)
            block["reference"].update(file=path.name, vocab=observer.vocab, written=True)
        except OSError as exc:
            block["reference"]["written"] = f"no: {type(exc).__name__}: {exc}"[:300]
        return block
    if observer is None:
        return lm_fidelity.unavailable(str(why))
    scored: dict[str, Any] = observer.block()
    return scored


def paired_perplexity(baseline: dict[str, Any], fidelity: dict[str, Any]) -> dict[str, Any]:
    """``accuracy.vs_fp32`` of a causal LM: the paired interval of perplexity - fp32 perplexity (per-window
    NLL of both on the same tokens, bootstrapped over windows); ``significant`` when it excludes 0."""
    out: dict[str, Any] = {
        "baseline_job": baseline.get("job_id"),
        "test": "paired percentile bootstrap over windows of perplexity - fp32 perplexity (95%)",
        "alpha": 0.05,
    }
    if fidelity.get("delta_perplexity_ci") is None:
        out["error"] = fidelity.get("reason") or "no paired interval"
        return out
    out.update(delta_perplexity_ci=fidelity["delta_perplexity_ci"], significant=fidelity["significant"])
    return out
