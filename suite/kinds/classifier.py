"""Image and tabular classifiers: deployed top-1 (and top-5) over the eval split through the session
that is then timed, compared item by item with the fp32 record; timed with LoadGen SingleStream (one
sample a query) and Offline (the profile's batch), to fixed counts (``--mlperf``) or until the 95%
intervals meet the profile's goal (the default)."""

from __future__ import annotations

from typing import Any

from suite.kinds.base import KindRun, TaskKind, Timed
from suite.kinds.settings import precision_goal, scenario
from suite.records.fields import CLASSIFIER

#: SingleStream and Offline draw from at most this many eval samples (LoadGen's sample library).
MAX_TIMED_SAMPLES = 1024


class Classifier(TaskKind):
    name = CLASSIFIER
    metric = "top1"
    fallback = True

    def predict(self, run: KindRun) -> Any:
        """The batch -> logits function the accuracy pass uses (None: the session's own)."""
        return None

    def more_accuracy(self, run: KindRun) -> dict[str, Any]:
        """Keys a more specific kind adds to the accuracy block, from the same pass."""
        return {}

    def accuracy(self, run: KindRun) -> dict[str, Any]:
        from suite.measure.accuracy import evaluate
        from suite.records.paired import vs_baseline

        accuracy = evaluate(
            run.session, run.x_eval, run.y_eval, num_classes=run.task.num_classes, predict=self.predict(run)
        )
        fp32_top1 = accuracy["top1"] if run.is_baseline else run.baseline_accuracy("top1")
        accuracy.update(
            fp32_top1=fp32_top1,
            delta_top1=(accuracy["top1"] - fp32_top1) if fp32_top1 is not None else None,
            simulated_top1=run.simulated_top1,
        )
        accuracy.update(self.more_accuracy(run))
        if not run.is_baseline:  # item by item against fp32, on the same evaluated items
            accuracy["vs_fp32"] = vs_baseline(accuracy, run.baseline)
        return accuracy

    def time(self, run: KindRun) -> Timed:
        from suite.measure.loadgen import TimingOptions, measure_mlperf
        from suite.measure.precision import measure_precision

        profile, quick, m = run.profile, run.quick, run.profile.measurement
        session = run.session
        feed = getattr(session, "feed", lambda x: x)  # in the model's input type before timing (uint8 TFLite)
        samples = [feed(run.x_eval[i : i + 1]) for i in range(min(len(run.x_eval), MAX_TIMED_SAMPLES))]
        offline_batch = scenario(profile, "offline", quick).batch_size
        sizes = {1, offline_batch, len(samples) % offline_batch} - {0}  # SingleStream, Offline and its last batch
        getattr(session, "prepare", lambda sizes: None)(sorted(sizes))  # compiles happen here, untimed
        run.ready()
        options = TimingOptions(m.warmup_queries, m.cv_threshold, quick, run.power_start, run.power_stop)
        if run.timing_mode == "mlperf":
            timing = measure_mlperf(
                session.run,
                samples,
                single=scenario(profile, "single_stream", quick),
                offline=scenario(profile, "offline", quick),
                runs=m.runs,
                options=options,
            )
        else:
            timing = measure_precision(
                session.run,
                samples,
                single=precision_goal(profile, "single_stream", quick),
                offline_goal=precision_goal(
                    profile, "offline", quick, m.precision.power_window_s if run.measuring_power else 0.0
                ),
                batch_size=offline_batch,
                options=options,
            )
        return Timed(timing.latency, timing.throughput, timing.offline_items)
