"""Invariances of the vmapped sweep: slices equal lone runs, reruns repeat, one compilation."""

import jax
import numpy as np
import pytest

from cvae_jax.training import runner


def _assert_trees_close(a, b, rtol=2e-5, atol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def test_sweep_slice_equals_member_trained_alone(tiny_config):
    _, result = runner.train_sweep(tiny_config)
    seed_index, beta_index = 1, 2
    alone = runner.train_single(
        tiny_config, int(result.seeds[seed_index]), tiny_config.sweep.betas[beta_index]
    )
    _assert_trees_close(result.member_params(seed_index, beta_index), alone.params)
    assert int(alone.step) == tiny_config.training.num_steps


@pytest.mark.parametrize("prior", ["network"])  # the richest prior; the property is generic
def test_same_config_and_seed_give_identical_numbers(tiny_config, prior):
    tiny_config.model.prior = prior
    _, first = runner.train_sweep(tiny_config)
    _, second = runner.train_sweep(tiny_config)
    for x, y in zip(jax.tree.leaves(first.state), jax.tree.leaves(second.state), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(first.history["loss"], second.history["loss"])


def test_betas_of_a_seed_share_initialisation_and_differ_only_by_beta(tiny_config):
    tiny_config.training.num_steps = tiny_config.training.log_every
    tiny_config.sweep.betas = (0.5, 0.5, 2.0)
    _, result = runner.train_sweep(tiny_config)
    same_beta = [result.member_params(0, 0), result.member_params(0, 1)]
    _assert_trees_close(*same_beta, rtol=0, atol=0)  # same seed, same beta: bitwise equal
    other_seed = result.member_params(1, 0)
    assert not np.allclose(
        jax.tree.leaves(same_beta[0])[0], jax.tree.leaves(other_seed)[0]
    )  # seeds differ


def test_sweep_compiles_once_however_many_betas(tiny_config, monkeypatch):
    traces = []
    original = runner.make_train_step

    def counting_make_train_step(*args, **kwargs):
        step = original(*args, **kwargs)

        def counted(*a):
            traces.append(1)  # runs only while tracing
            return step(*a)

        return counted

    monkeypatch.setattr(runner, "make_train_step", counting_make_train_step)
    tiny_config.sweep.betas = tuple(np.geomspace(1e-3, 10, 16))
    _, result = runner.train_sweep(tiny_config)
    assert len(result.history["step"]) == 3  # three chunks ran ...
    assert len(traces) == 1  # ... from one trace of the step for all 2 x 16 members


def test_metrics_table_has_one_row_per_seed_and_beta(tiny_config):
    _, result = runner.train_sweep(tiny_config)
    rows = result.rows()
    assert [(r["seed"], r["beta"]) for r in rows] == [
        (s, b) for s in (0, 1) for b in (0.0, 0.5, 2.0)
    ]
    assert all(np.isfinite(r["final_loss"]) and r["diverged_at"] == -1 for r in rows)
