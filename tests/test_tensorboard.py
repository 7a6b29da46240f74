"""The optional TensorBoard writer: one run per member, its hyperparameters, one point per chunk."""

import os
import struct

import pytest

from cvae_jax.runs.tensorboard import TensorBoardWriter
from cvae_jax.training import runner

pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402


def _events(run_dir):
    """Every Event in a run's event files (TFRecord: length, crc, payload, crc)."""
    events = []
    for name in sorted(os.listdir(run_dir)):
        with open(os.path.join(run_dir, name), "rb") as f:
            data = f.read()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            payload = data[offset + 12 : offset + 12 + length]
            events.append(event_pb2.Event.FromString(payload))
            offset += 12 + length + 4
    return events


def test_one_run_per_member_with_one_point_per_chunk_and_its_hparams(tiny_config, tmp_path):
    tiny_config.sweep.betas, tiny_config.sweep.num_seeds = (0.5,), 1
    tiny_config.sweep.grid.capacity = (0.0, 2.0)
    writer = TensorBoardWriter(str(tmp_path), tiny_config)
    _, result = runner.train_sweep(tiny_config, on_chunk=writer)
    writer.close()
    assert sorted(os.listdir(tmp_path)) == [
        "seed=0,beta=0.5,capacity=0",
        "seed=0,beta=0.5,capacity=2",
    ]
    events = _events(tmp_path / "seed=0,beta=0.5,capacity=2")
    rates = [
        (e.step, v.simple_value) for e in events for v in e.summary.value if v.tag == "train/rate"
    ]
    assert [step for step, _ in rates] == [20, 40, 60]  # one point per chunk of 20 steps
    assert [value for _, value in rates] == pytest.approx(list(result.history["rate"][:, 0, 1]))
    tags = {v.tag for e in events for v in e.summary.value}
    assert "_hparams_/session_start_info" in tags  # the HPARAMS tab's record of this member
    hparams = next(
        v.metadata.plugin_data.content
        for e in events
        for v in e.summary.value
        if v.tag == "_hparams_/session_start_info"
    )
    assert b"capacity" in hparams and b"learning_rate" in hparams
