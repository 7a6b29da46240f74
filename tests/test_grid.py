"""The sweep as a grid over any hyperparameter: slices equal lone runs, one trace, selection."""

import jax
import numpy as np
import pytest

from cvae_jax import config as config_lib
from cvae_jax.core import distributions as dist
from cvae_jax.errors import ConfigError
from cvae_jax.training import runner
from cvae_jax.training.sweep import sweep_hyper


def _assert_trees_close(a, b, rtol=2e-5, atol=2e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def test_grid_is_the_cartesian_product_first_axis_slowest():
    hyper = sweep_hyper({"beta": (0.5, 2.0), "capacity": (0.0, 1.0, 5.0)})
    assert np.asarray(hyper["beta"]).tolist() == [0.5] * 3 + [2.0] * 3
    assert np.asarray(hyper["capacity"]).tolist() == [0.0, 1.0, 5.0] * 2
    assert np.asarray(hyper["learning_rate"]).tolist() == pytest.approx([1e-3] * 6)  # default


def test_every_grid_point_trains_in_one_trace_and_equals_the_member_trained_alone(
    tiny_config, monkeypatch
):
    traces = []
    original = runner.make_train_step

    def counting_make_train_step(*args, **kwargs):
        step = original(*args, **kwargs)

        def counted(*a):
            traces.append(1)  # runs only while tracing
            return step(*a)

        return counted

    monkeypatch.setattr(runner, "make_train_step", counting_make_train_step)
    g = tiny_config.sweep.grid
    g.beta, g.capacity, g.capacity_gamma = (0.5, 2.0), (0.0, 2.0), (1.0,)
    g.learning_rate, g.kl_warmup_steps = (1e-2, 3e-3), (0, 30)
    _, result = runner.train_sweep(tiny_config)
    assert len(traces) == 1  # 2 seeds x 16 grid points, one trace
    assert np.shape(result.state.step) == (2, 16)
    monkeypatch.setattr(runner, "make_train_step", original)
    for point in [
        {"beta": 2.0, "capacity": 2.0, "learning_rate": 3e-3, "kl_warmup_steps": 30},
        {"beta": 0.5, "capacity": 0.0, "learning_rate": 1e-2, "kl_warmup_steps": 0},
    ]:
        (h,) = result.indices(**point)
        alone = runner.train_single(tiny_config, int(result.seeds[1]), point)
        _assert_trees_close(result.member_params(1, h), alone.params)


def test_learning_rate_axis_equals_a_standalone_run_at_that_rate(tiny_config):
    tiny_config.sweep.betas = (1.0,)
    tiny_config.sweep.num_seeds = 1
    tiny_config.sweep.grid.learning_rate = (1e-2, 2e-3)
    _, result = runner.train_sweep(tiny_config)
    plain = tiny_config.copy_and_resolve_references()
    plain.sweep.grid.learning_rate = (1e-3,)  # the default: training.learning_rate rules
    plain.training.learning_rate = 2e-3
    alone = runner.train_single(plain, 0, 1.0)
    _assert_trees_close(result.select(learning_rate=2e-3).member_params(0, 0), alone.params)
    first, second = (result.select(learning_rate=lr).member_params(0, 0) for lr in (1e-2, 2e-3))
    assert not np.allclose(jax.tree.leaves(first)[0], jax.tree.leaves(second)[0])


def test_hybrid_axis_equals_a_standalone_run_at_that_weight(tiny_config):
    tiny_config.sweep.betas = (1.0,)
    tiny_config.sweep.num_seeds = 1
    tiny_config.sweep.grid.hybrid_alpha = (1.0, 0.5)  # Sohn et al.: alpha * cVAE + (1-a) * GSNN
    _, result = runner.train_sweep(tiny_config)
    plain = tiny_config.copy_and_resolve_references()
    plain.sweep.grid.hybrid_alpha = (1.0,)  # the model gains the GSNN term from the point alone
    alone = runner.train_single(plain, 0, {"beta": 1.0, "hybrid_alpha": 0.5})
    _assert_trees_close(result.select(hybrid_alpha=0.5).member_params(0, 0), alone.params)
    cvae, hybrid = (result.select(hybrid_alpha=a).member_params(0, 0) for a in (1.0, 0.5))
    assert not np.allclose(jax.tree.leaves(cvae)[0], jax.tree.leaves(hybrid)[0])


def test_rows_carry_every_swept_name_and_select_by_value(tiny_config):
    tiny_config.sweep.betas = (0.5, 2.0)
    tiny_config.sweep.grid.free_bits = (0.0, 0.25)
    tiny_config.sweep.num_seeds = 1
    _, result = runner.train_sweep(tiny_config)
    rows = result.rows()
    assert [(r["beta"], r["free_bits"]) for r in rows] == [
        (0.5, 0.0), (0.5, 0.25), (2.0, 0.0), (2.0, 0.25)
    ]  # fmt: skip
    assert all(set(config_lib.GRID_AXES) <= set(r) for r in rows)
    assert isinstance(rows[0]["kl_warmup_steps"], int)
    picked = result.select(free_bits=0.25)
    assert np.asarray(picked.hyper["beta"]).tolist() == [0.5, 2.0]
    assert picked.history["loss"].shape[1:] == (1, 2)
    np.testing.assert_array_equal(picked.history["loss"][:, 0, 1], result.history["loss"][:, 0, 3])
    with pytest.raises(ConfigError, match=r"No member of the sweep has \{'beta': 7.0\}"):
        result.select(beta=7.0)


def test_grid_axis_overrides_its_key_and_a_bad_axis_is_named(tiny_config):
    tiny_config.sweep.grid.capacity = (1.0, 2.0)
    tiny_config.objective.capacity = 3.0
    assert config_lib.grid(tiny_config)["capacity"] == (1.0, 2.0)
    assert config_lib.grid_overrides(tiny_config) == ["objective.capacity"]
    assert config_lib.grid(tiny_config)["beta"] == (0.0, 0.5, 2.0)  # sweep.betas
    tiny_config.sweep.grid.lr = (1.0,)
    with pytest.raises(ConfigError, match=r"Unknown sweep.grid axis 'lr'; .* beta, free_bits"):
        config_lib.validate(tiny_config)
    del tiny_config.sweep.grid["lr"]
    tiny_config.sweep.grid.kl_warmup_steps = (0, 10.5)
    with pytest.raises(ConfigError, match=r"sweep.grid.kl_warmup_steps must be .* integer"):
        config_lib.validate(tiny_config)


def _remedy_config(tiny_config, latent_dim=2):
    c = tiny_config
    c.model.hidden, c.model.latent_dim = (32,), latent_dim
    c.training.num_steps, c.training.log_every, c.training.batch_size = 600, 100, 64
    c.sweep.num_seeds = 1
    return c


def test_controlled_capacity_holds_the_rate_at_c(tiny_config):
    """beta = 0, gamma > 0: the loss is distortion + gamma |KL - C| (Burgess et al. 2018), and
    the distortion always gains from more rate, so the trained rate sits at C."""
    c = _remedy_config(tiny_config)
    c.sweep.betas, c.objective.capacity_gamma = (0.0,), 20.0
    c.sweep.grid.capacity = (0.5, 1.0, 2.0)
    _, result = runner.train_sweep(c)
    final_rate = result.history["rate"][-1, 0]
    np.testing.assert_allclose(final_rate, [0.5, 1.0, 2.0], atol=0.1)


def test_free_bits_keep_every_dimension_near_or_above_lambda(tiny_config):
    """Free bits per dimension (Kingma et al. 2016): no rate penalty below lambda nats, so no
    dimension collapses; without them the least used dimension carries almost nothing."""
    c = _remedy_config(tiny_config, latent_dim=4)
    c.sweep.betas, c.objective.free_bits_groups = (1.0,), 4
    c.sweep.grid.free_bits = (0.0, 0.5)
    setup, result = runner.train_sweep(c)
    x, y = np.asarray(setup.data.x), np.asarray(setup.data.y)
    per_dim = []
    for h in range(2):
        params = result.member_params(0, h)
        q = setup.model.apply(params, x, y, method=setup.model.encode)
        p = setup.model.apply(params, y, method=setup.model.prior_distribution)
        kl = dist.gaussian_kl_per_dim(q.loc, q.log_var, p.loc, p.log_var)
        per_dim.append(np.asarray(kl).mean(0))
    assert per_dim[0].min() < 0.05  # lambda = 0: a collapsed dimension
    assert per_dim[1].min() >= 0.8 * 0.5  # lambda = 0.5 nats: every dimension in use


def test_free_bits_log_says_per_group_and_how_many(tiny_config, caplog):
    tiny_config.sweep.grid.free_bits = (0.0, 0.5)
    with caplog.at_level("INFO"):
        runner.build_setup(tiny_config)
    assert "lambda = 0.5 nats per group, over 1 group(s) of the rate (the whole latent" in (
        caplog.text
    )
    caplog.clear()
    tiny_config.objective.free_bits_groups = 2
    with caplog.at_level("INFO"):
        runner.build_setup(tiny_config)
    assert "over 2 group(s) of the rate." in caplog.text
