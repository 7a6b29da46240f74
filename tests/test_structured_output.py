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
from cvae_jax.data import Dataset
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import estimators
from cvae_jax.models import CVAE, build_model
from cvae_jax.models.mlp import MLPDecoder, MLPEncoder
from cvae_jax.models.priors import PriorNetwork, StandardPrior
from cvae_jax.studies import quadrants
from cvae_jax.training import supervised

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
    # Pyro's protocol on the full MNIST: both networks stop early on the same split.
    full = quadrants_config.get_config("pyro,mnist")
    validate(full)
    quadrants.check(full)
    assert full.data.name == "mnist" and full.data.validation_examples == 10_000
    for part in (full.training, full.baseline):
        assert part.patience == 3 and part.num_steps == 50 * part.eval_every


def _overfitting_data():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(64, DC)).astype(np.float32)
    return (c @ rng.normal(size=(DC, DX)) > 0).astype(np.float32), c


def _overfitting_baseline(**selection):
    """The baseline on 64 examples of binary targets t, judged on the same conditions with
    soft targets 0.7 t + 0.15: fitting t first helps the validation loss, then hurts it."""
    t, c = _overfitting_data()
    return supervised.train_baseline(
        Dataset(t, c), (16,), num_steps=400, batch_size=16, learning_rate=0.003,
        validation=Dataset(0.7 * t + 0.15, c), **selection,
    )  # fmt: skip


def test_the_baseline_keeps_its_best_validation_step_and_stops_after_its_patience():
    (module, best), record = _overfitting_baseline(eval_every=20)
    losses = np.asarray(record.validation_loss)
    assert len(losses) == 20 and record.stopped_at == -1 and record.steps == 400
    peak = int(np.argmin(losses))
    assert 0 < peak < len(losses) - 1 and losses[-1] > losses[peak] + 0.05  # a real optimum
    assert record.best_step == 20 * (peak + 1)
    # The kept parameters are those of a plain fit of best_step steps (same batch stream).
    (_, plain), _ = supervised.train_baseline(
        Dataset(*_overfitting_data()), (16,), num_steps=record.best_step, batch_size=16,
        learning_rate=0.003,
    )  # fmt: skip
    for a, b in zip(jax.tree.leaves(best), jax.tree.leaves(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # Patience 2: it stops two evaluations after that best and keeps the same parameters.
    (_, stopped), early = _overfitting_baseline(eval_every=20, patience=2)
    assert early.best_step == record.best_step and early.stopped_at == record.best_step + 40
    assert early.steps == early.stopped_at and len(early.validation_loss) == peak + 3
    for a, b in zip(jax.tree.leaves(best), jax.tree.leaves(stopped), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_baseline_selection_settings_fail_with_one_line():
    config = quadrants_config.get_config("smoke")
    config.data.validation_examples = 0
    with pytest.raises(ConfigError, match="baseline.eval_every=25 needs a validation split"):
        quadrants.check(config)
    config = quadrants_config.get_config("smoke")
    config.baseline.eval_every = 30
    with pytest.raises(ConfigError, match="must divide baseline.num_steps=50"):
        quadrants.check(config)
