"""Bad input fails early with a message that names the problem and the fix."""

import numpy as np
import pytest

from cvae_jax.data import Dataset
from cvae_jax.data.synthetic import two_gaussians
from cvae_jax.training import runner


def test_labels_out_of_range(tiny_config):
    data = two_gaussians(0, 100)
    bad = Dataset(data.x, data.y + 1)  # labels 1..2 for num_classes=2
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\].*found range \[1, 2\]"):
        runner.train_sweep(tiny_config, bad)


def test_x_of_the_wrong_dimension(tiny_config):
    data = two_gaussians(0, 100)
    with pytest.raises(ValueError, match="x must have shape"):
        runner.train_sweep(tiny_config, Dataset(data.x[:, :, None], data.y))
    with pytest.raises(ValueError, match="x has 100 examples but y has 99"):
        runner.train_sweep(tiny_config, Dataset(data.x, data.y[:99]))


def test_nan_in_data(tiny_config):
    data = two_gaussians(0, 100)
    data.x[3, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        runner.train_sweep(tiny_config, data)


def test_negative_beta(tiny_config):
    tiny_config.sweep.betas = (0.1, -1.0)
    with pytest.raises(ValueError, match=r"sweep.betas must be finite and >= 0"):
        runner.train_sweep(tiny_config)


def test_unknown_prior_name(tiny_config):
    tiny_config.model.prior = "vampprior"
    with pytest.raises(ValueError, match="Unknown prior 'vampprior'; choose one of standard"):
        runner.train_sweep(tiny_config)


def test_batch_larger_than_data(tiny_config):
    tiny_config.training.batch_size = 10_000
    with pytest.raises(ValueError, match="batch_size=10000 exceeds the 512 training examples"):
        runner.train_sweep(tiny_config)


def test_non_finite_loss_raises_when_asked(tiny_config):
    tiny_config.training.on_nonfinite = "raise"
    tiny_config.sweep.betas = (1.0, 1e38)  # beta * rate overflows float32
    with pytest.raises(FloatingPointError, match="non-finite loss or gradient in 2 member"):
        runner.train_sweep(tiny_config)


def test_diverged_member_is_frozen_and_reported_and_others_unaffected(tiny_config):
    tiny_config.sweep.betas = (0.5, 2.0)
    _, healthy = runner.train_sweep(tiny_config)
    tiny_config.sweep.betas = (0.5, 2.0, 1e38)
    _, mixed = runner.train_sweep(tiny_config)
    rows = mixed.rows()
    assert [r["diverged_at"] for r in rows if r["beta"] > 1e30] == [0, 0]
    assert all(r["diverged_at"] == -1 for r in rows if r["beta"] < 1e30)
    for s in range(2):
        for h in range(2):
            a, b = healthy.member_params(s, h), mixed.member_params(s, h)
            for x, y in zip(jax_leaves(a), jax_leaves(b), strict=True):
                np.testing.assert_allclose(x, y, rtol=2e-5, atol=2e-6)
    frozen = mixed.member_params(0, 2)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax_leaves(frozen))


def jax_leaves(tree):
    import jax

    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]
