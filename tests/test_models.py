"""The Flax modules: shapes, the prior variants, the label switch and decoder variances."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax import models
from cvae_jax.config import base_config
from cvae_jax.data import Dataset

X = jax.random.normal(jax.random.key(0), (5, 3))
Y = jnp.array([0, 1, 1, 0, 1])


def _model(**overrides):
    config = base_config()
    for key, value in overrides.items():
        setattr(config.model, key, value)
    model = models.build_model(config, Dataset(np.asarray(X), np.asarray(Y)))
    return model, model.init(jax.random.key(1), X, Y, jax.random.key(2))


MONTE_CARLO_PRIORS = ("mog", "vamp", "flow")  # no closed-form KL: one Monte Carlo group


@pytest.mark.parametrize("prior", models.PRIORS.names())
def test_every_prior_gives_per_example_terms(prior):
    model, params = _model(prior=prior, prior_components=4)
    terms = model.apply(params, X, Y, jax.random.key(3))
    assert terms["distortion"].shape == (5,)
    assert terms["reconstruction"].shape == (5, 3)
    if prior in MONTE_CARLO_PRIORS:
        assert terms["rate_groups"].shape == (5, 1)
    else:  # closed form per latent dimension
        assert terms["rate_groups"].shape == (5, 2)
        assert np.all(np.asarray(terms["rate_groups"]) >= -1e-6)  # a KL is never negative


def test_fixed_conditional_prior_returns_the_configured_gaussian_per_class():
    model, params = _model(prior="fixed_conditional", prior_log_vars=((0.0, 0.0), (1.0, -1.0)))
    p = model.apply(params, jnp.array([1, 0]), method=model.prior_distribution)
    np.testing.assert_allclose(p.loc, [[2.0, 0.0], [-2.0, 0.0]])
    np.testing.assert_allclose(p.log_var, [[1.0, -1.0], [0.0, 0.0]])


def test_learned_conditional_prior_is_a_trainable_table_per_class():
    model, params = _model(prior="learned_conditional")
    table = params["params"]["prior"]
    assert table["means"].shape == table["log_vars"].shape == (2, 2)  # class x latent dim
    p = model.apply(params, jnp.array([1]), method=model.prior_distribution)
    np.testing.assert_allclose(p.loc[0], table["means"][1])


def test_standard_prior_does_not_depend_on_the_label():
    model, params = _model(prior="standard")
    p = model.apply(params, jnp.array([0, 1]), method=model.prior_distribution)
    np.testing.assert_array_equal(p.loc, 0.0)
    np.testing.assert_array_equal(p.log_var, 0.0)


def test_encoder_label_switch():
    for uses_label, expect_equal in ((False, True), (True, False)):
        model, params = _model(encoder_uses_label=uses_label)
        a = model.apply(params, X, jnp.zeros(5, jnp.int32), method=model.encode).loc
        b = model.apply(params, X, jnp.ones(5, jnp.int32), method=model.encode).loc
        assert np.allclose(a, b) == expect_equal


def test_decoder_variance_modes():
    z = jnp.ones((5, 2))
    model, params = _model(decoder_variance="fixed", decoder_fixed_variance=0.5)
    out = model.apply(params, z, Y, method=model.decode)
    np.testing.assert_allclose(out["log_var"], np.log(0.5), rtol=1e-6)
    model, params = _model(decoder_variance="per_dim")
    assert params["params"]["decoder"]["log_var"].shape == (3,)
    model, params = _model(decoder_variance="per_example")
    out = model.apply(params, jnp.stack([z[0], -z[0]]), Y[:2], method=model.decode)
    assert not np.allclose(out["log_var"][0], out["log_var"][1])  # depends on z
    model, params = _model(likelihood="bernoulli")
    assert set(model.apply(params, z, Y, method=model.decode)) == {"logits"}
    with pytest.raises(ValueError, match="Unknown decoder variance 'learned'"):
        _model(decoder_variance="learned")


def test_fixed_conditional_prior_needs_one_mean_per_class():
    with pytest.raises(ValueError, match=r"prior_means has shape \(1, 2\)"):
        _model(prior="fixed_conditional", prior_means=((0.0, 0.0),))
