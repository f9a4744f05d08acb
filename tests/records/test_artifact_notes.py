"""A method's own notes in ``artifact.details`` never collide with the work block: fp16, kmeans, hybrid and
tflite-fp16 write a precision note to ``details.compute`` (a string), the MAC count lives in ``details.work``."""

from suite.publish.rows import flatten
from suite.tracking.mlflow import metrics_of
from tests.support.publish_records import make_record


def test_a_precision_note_in_details_compute_is_not_a_work_block() -> None:
    record = make_record("fp16", 0.97, 0.02)
    record["artifact"]["details"] = {"compute": "float32 (weights decoded in the file); size benefit only"}
    row = flatten(record)
    assert row["macs_per_item"] is None and row["gops"] is None
    assert "compute/macs_per_item" not in metrics_of(record)


def test_the_work_block_is_read_from_details_work() -> None:
    record = make_record("ptq-static", 0.97, 0.02)
    record["artifact"]["details"] = {"compute": "int8", "work": {"macs_per_item": 337_536}}
    assert flatten(record)["macs_per_item"] == 337_536
    assert metrics_of(record)["compute/macs_per_item"] == 337_536
