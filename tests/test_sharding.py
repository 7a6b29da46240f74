"""The member axis sharded over 4 fake CPU devices gives the numbers of a single device.

XLA_FLAGS must be set before jax is imported, so the sharded runs happen in a subprocess.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json
import jax
import numpy as np
from cvae_jax.config import base_config
from cvae_jax.training import runner
from cvae_jax.training.sweep import init_sweep, make_sweep_chunk

assert len(jax.devices()) == 4, jax.devices()
config = base_config()
config.data.num_examples = 512
config.model.hidden = (16,)
config.training.update(batch_size=32, learning_rate=1e-2, log_every=20, num_steps=40)
config.sweep.update(betas=(0.0, 0.5, 1.0, 2.0), num_seeds=2)

def max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))

out = {}
# 1. Through the config: 2 seeds x 4 betas, betas sharded 1 per device.
_, sharded = runner.train_sweep(config)
config.sweep.num_devices = 1
_, single = runner.train_sweep(config)
leaf = jax.tree.leaves(sharded.state.params)[0]
out["config_diff"] = max_diff(sharded.state, single.state)
out["loss_diff"] = float(np.max(np.abs(sharded.history["loss"] - single.history["loss"])))
out["devices"] = len(leaf.sharding.device_set)
out["replicated"] = leaf.sharding.is_fully_replicated
out["shard_shapes"] = sorted({s.data.shape[:2] for s in leaf.addressable_shards})

# 2. 3 seeds x 3 betas do not divide 4 devices (padded), also in calls of at most 4.
config.sweep.update(betas=(0.0, 0.5, 2.0), num_seeds=3)
setup = runner.build_setup(config)
def run(chunk):
    state, keys = init_sweep(setup.model, setup.optimizer, setup.seeds, 3, setup.data)
    for _ in range(2):
        state, metrics = chunk(state, setup.data, keys, setup.hyper)
    return jax.device_get(state)
reference = run(make_sweep_chunk(setup.train_chunk, devices=jax.devices()[:1]))
out["padded_diff"] = max_diff(run(make_sweep_chunk(setup.train_chunk)), reference)
capped = make_sweep_chunk(setup.train_chunk, max_members_per_call=4)
out["capped_diff"] = max_diff(run(capped), reference)

# 3. Fewer members (2) than devices (4): not sharded, same numbers.
config.sweep.update(betas=(0.0, 2.0), num_seeds=1, num_devices=0)
_, small = runner.train_sweep(config)
config.sweep.num_devices = 1
_, small_single = runner.train_sweep(config)
out["small_diff"] = max_diff(small.state, small_single.state)
out["small_devices"] = len(jax.tree.leaves(small.state.params)[0].sharding.device_set)
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def sharded_results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


def test_sharded_sweep_equals_single_device(sharded_results):
    assert sharded_results["config_diff"] < 1e-5
    assert sharded_results["loss_diff"] < 1e-5


def test_state_is_sharded_over_four_devices(sharded_results):
    assert sharded_results["devices"] == 4
    assert not sharded_results["replicated"]
    assert sharded_results["shard_shapes"] == [[2, 1]]  # each device holds one beta


def test_padding_and_split_calls_keep_the_numbers(sharded_results):
    assert sharded_results["padded_diff"] < 1e-5
    assert sharded_results["capped_diff"] < 1e-5


def test_fewer_members_than_devices_run_unsharded(sharded_results):
    assert sharded_results["small_diff"] < 1e-5
    assert sharded_results["small_devices"] == 1
