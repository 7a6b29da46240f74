"""The fast sweep layout (groups, shared step, bounded calls) equals the plain vmap of vmap."""

import jax
import numpy as np
import pytest

from cvae_jax.config import base_config
from cvae_jax.training import layout as sweep_exec
from cvae_jax.training import runner
from cvae_jax.training.sweep import init_sweep, make_plain_sweep_chunk, make_sweep_chunk


def _run(setup, sweep_chunk, num_chunks=2):
    state, keys = init_sweep(
        setup.model, setup.optimizer, setup.seeds, len(setup.hyper["beta"]), setup.data
    )
    history = []
    for _ in range(num_chunks):
        state, metrics = sweep_chunk(state, setup.data, keys, setup.hyper)
        history.append(jax.device_get(metrics))
    return jax.device_get(state), history


def _assert_close(a, b, rtol=2e-5, atol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def setup():
    config = base_config()
    config.data.num_examples = 512
    config.model.hidden = (16,)
    config.training.update(batch_size=32, learning_rate=1e-2, log_every=20)
    config.sweep.betas = (0.0, 0.5, 1.0, 2.0)
    config.sweep.num_seeds = 3
    return runner.build_setup(config)


@pytest.fixture(scope="module")
def plain(setup):
    return _run(setup, make_plain_sweep_chunk(setup.train_chunk))


@pytest.fixture(scope="module")
def whole(setup):
    """One call, one member per group: the reference for the split calls (bitwise)."""
    return _run(setup, make_sweep_chunk(setup.train_chunk, group_size=1))


@pytest.mark.parametrize("group_size", [1, 3, 8, 12])
def test_grouped_layout_equals_plain_vmap(setup, plain, whole, group_size):
    # 1: one member per group; 3: a seed's betas split unevenly (4 = 2 x 2); 8: two seeds of
    # four betas; 12: every member in one group, as on an accelerator.
    fast = (
        whole if group_size == 1 else _run(setup, make_sweep_chunk(setup.train_chunk, group_size))
    )
    _assert_close(fast, plain)
    assert np.all(fast[0].step == plain[0].step)


@pytest.mark.parametrize("cap", [1, 5])
def test_calls_of_bounded_size_give_identical_results(setup, whole, cap):
    # 12 members in calls of at most `cap`: 5 pads the betas to 5 + 5; the pieces must not
    # change a single bit relative to one call of the same group layout.
    chunked = make_sweep_chunk(setup.train_chunk, group_size=1, max_members_per_call=cap)
    pieces = _run(setup, chunked)
    for x, y in zip(jax.tree.leaves(pieces), jax.tree.leaves(whole), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert len(chunked._executables) == 1  # every piece served by one compilation


def test_memory_limit_splits_the_sweep_automatically(setup, whole, monkeypatch):
    monkeypatch.setattr(sweep_exec, "device_memory_bytes", lambda device: 1)
    chunked = make_sweep_chunk(setup.train_chunk, group_size=1)
    pieces = _run(setup, chunked)
    assert chunked._caps[3, 4] == 1  # nothing fits: one member per call
    _assert_close(pieces, whole, rtol=0, atol=0)


@pytest.mark.parametrize(
    "S,H,devices,cap",
    [(3, 4, 1, 12), (3, 4, 1, 5), (3, 4, 4, 12), (3, 3, 4, 9), (1, 7, 2, 3), (5, 1, 4, 2)],
)
def test_call_plan_covers_the_grid_within_the_cap(S, H, devices, cap):
    axis, ps, ph = sweep_exec.plan_calls(S, H, devices, cap)
    assert ps * ph <= max(cap, devices) * (devices if ps * ph > cap else 1)
    assert (ps, ph)[axis] % devices == 0  # the sharded axis splits evenly
    calls = -(-S // ps) * -(-H // ph)
    assert calls * ps * ph >= S * H
    if S * H <= cap and devices == 1:
        assert (ps, ph, calls) == (S, H, 1)


def test_group_shape_divides_the_grid():
    for S, H, g in [(3, 4, 8), (3, 4, 3), (1, 7, 16), (16, 1, 16), (5, 6, 4)]:
        gs, gh = sweep_exec.group_shape(S, H, g)
        assert S % gs == 0 and H % gh == 0 and 1 <= gs * gh <= g
