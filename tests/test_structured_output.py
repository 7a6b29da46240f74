"""Structured output prediction (Sohn et al. 2015): the quadrant estimators against closed
forms on greyscale targets, and the hybrid cVAE + GSNN objective."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import quadrants as quadrants_config
from cvae_jax.config import validate
from cvae_jax.core import objectives
from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.core.objectives import DEFAULT_HYPER
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import estimators
from cvae_jax.models import CVAE, build_model
from cvae_jax.models.mlp import MLPDecoder, MLPEncoder
from cvae_jax.models.priors import PriorNetwork, StandardPrior

DX, DC, DZ, B = 6, 3, 2, 5


class ConstantEncoder(nn.Module):
    """q(z|x,c) = N(mean, I) for a fixed mean: the KL to N(0, I) is |mean|^2 / 2."""

    mean: tuple

    def __call__(self, x, c):
        mean = jnp.broadcast_to(jnp.asarray(self.mean), (x.shape[0], DZ))
        return DiagonalGaussian(mean, jnp.zeros_like(mean))


class LatentFreeDecoder(nn.Module):
    """Bernoulli logits from c alone: p(x|z,c) does not depend on z, so p(x|c) is exact."""

    @nn.compact
    def __call__(self, z, c):
        return {"logits": nn.Dense(DX)(c) + 0.0 * z.sum(-1, keepdims=True)}


def _greyscale_case(encoder_mean):
    kx, kc, ki = jax.random.split(jax.random.key(0), 3)
    x = jax.random.uniform(kx, (B, DX))  # greyscale targets in [0, 1], not binary
    c = jax.random.uniform(kc, (B, DC))
    model = CVAE(ConstantEncoder(encoder_mean), LatentFreeDecoder(), StandardPrior(DZ))
    params = model.init(ki, x, c, ki)
    logits = nn.Dense(DX).apply({"params": params["params"]["decoder"]["Dense_0"]}, c)
    p = jax.nn.sigmoid(np.asarray(logits, np.float64))
    cross_entropy = -np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=-1)  # [B]
    return model, params, x, c, cross_entropy


def test_estimators_equal_the_exact_cross_entropy_when_the_decoder_ignores_z():
    model, params, x, c, cross_entropy = _greyscale_case((0.0, 0.0))  # q = p: no KL
    key = jax.random.key(1)
    for nll in (
        estimators.elbo_nll(key, model, params, x, c, 10),
        estimators.prior_sampling_nll(key, model, params, x, c, 7),
        estimators.recognition_nll(key, model, params, x, c, 7),
    ):
        np.testing.assert_allclose(nll, cross_entropy, rtol=1e-5)


def test_elbo_estimator_adds_the_closed_form_kl():
    mean = (0.6, -1.2)
    model, params, x, c, cross_entropy = _greyscale_case(mean)
    nll = estimators.elbo_nll(jax.random.key(2), model, params, x, c, 10)
    np.testing.assert_allclose(nll, cross_entropy + 0.5 * np.sum(np.square(mean)), rtol=1e-5)
    # Sampling from the prior network gives p(x|c) exactly here; the q-IWAE bound pays
    # almost none of the KL at K = 1,000 (its bias is Var(p/q) / 2K = 0.0025 nats).
    prior_is = estimators.prior_sampling_nll(jax.random.key(3), model, params, x, c, 7)
    np.testing.assert_allclose(prior_is, cross_entropy, rtol=1e-5)
    iwae = estimators.recognition_nll(jax.random.key(3), model, params, x, c, 1000)
    assert abs(np.mean(iwae) - np.mean(cross_entropy)) < 0.1


def _structured_model(gsnn_term: bool):
    return CVAE(
        MLPEncoder(DZ, (8,)), MLPDecoder(DX, (8,), likelihood="bernoulli"),
        PriorNetwork(DZ, (8,)), gsnn_term=gsnn_term,
    )  # fmt: skip


def _loss_and_grads(model, params, x, c, key, alpha):
    hyper = {k: jnp.float32(v) for k, v in {**DEFAULT_HYPER, "hybrid_alpha": alpha}.items()}

    def loss(p):
        return objectives.loss_and_metrics(model.apply(p, x, c, key), hyper)[0]

    return jax.jit(jax.value_and_grad(loss))(params)


def test_hybrid_objective_at_alpha_one_is_the_cvae_loss_and_at_zero_skips_recognition():
    kx, kc, ki, ks = jax.random.split(jax.random.key(4), 4)
    x = jax.random.bernoulli(kx, 0.4, (B, DX)).astype(jnp.float32)
    c = jax.random.uniform(kc, (B, DC))
    plain, hybrid = _structured_model(False), _structured_model(True)
    params = plain.init(ki, x, c, ks)
    assert jax.tree.structure(params) == jax.tree.structure(hybrid.init(ki, x, c, ks))
    loss, grads = _loss_and_grads(plain, params, x, c, ks, 1.0)
    hybrid_loss, hybrid_grads = _loss_and_grads(hybrid, params, x, c, ks, 1.0)
    assert float(hybrid_loss) == pytest.approx(float(loss), rel=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                 hybrid_grads, grads)  # fmt: skip
    # alpha = 0: the GSNN loss alone, -log p(x|z,c) with z ~ p(z|c).
    gsnn_loss, gsnn_grads = _loss_and_grads(hybrid, params, x, c, ks, 0.0)
    gsnn = hybrid.apply(params, x, c, ks)["gsnn_distortion"]
    assert float(gsnn_loss) == pytest.approx(float(jnp.mean(gsnn)), rel=1e-6)
    g = gsnn_grads["params"]
    assert all(float(jnp.abs(v).max()) == 0.0 for v in jax.tree.leaves(g["encoder"]))
    assert all(float(jnp.abs(v).max()) > 0.0 for v in jax.tree.leaves(g["decoder"]))
    assert any(float(jnp.abs(v).max()) > 0.0 for v in jax.tree.leaves(g["prior"]))


def test_the_model_returns_the_gsnn_term_only_when_a_member_weights_it():
    from cvae_jax.data import Dataset

    data = Dataset(np.zeros((4, DX), np.float32), np.zeros((4, DC), np.float32))
    config = quadrants_config.get_config("smoke")
    assert not build_model(config, data).gsnn_term
    config.sweep.grid.hybrid_alpha = (1.0, 0.5)
    assert build_model(config, data).gsnn_term
    config.sweep.grid.hybrid_alpha = (1.5,)
    with pytest.raises(ConfigError, match=r"hybrid_alpha must be .* in \[0, 1\]"):
        validate(config)


def test_pyro_setting_has_greyscale_targets_and_unknown_arguments_fail():
    config = quadrants_config.get_config("pyro")
    validate(config)
    assert config.data.binarize == "none" and config.model.latent_dim == 200
    assert config.model.hidden == config.baseline.hidden == (500, 500)
    smoke = quadrants_config.get_config("pyro,smoke")  # both arguments apply
    assert smoke.data.binarize == "none"
    assert smoke.training.num_steps == quadrants_config.get_config("smoke").training.num_steps
    with pytest.raises(ConfigError, match="Unknown config argument 'pyr'"):
        quadrants_config.get_config("pyr")
