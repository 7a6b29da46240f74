"""Conv cVAE shapes, every prior training on digits, dynamic binarisation, the classifier."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import digits as digits_config
from cvae_jax import models
from cvae_jax.data import Dataset, load_splits
from cvae_jax.evaluation import estimators
from cvae_jax.models import build_model
from cvae_jax.training import runner
from cvae_jax.training import supervised as classifier


@pytest.fixture(scope="module")
def splits():
    config = digits_config.get_config("smoke")
    return load_splits(config.data)


def _tiny(kind="conv", prior="standard", likelihood="bernoulli"):
    config = digits_config.get_config("smoke")
    config.model.kind, config.model.prior, config.model.likelihood = kind, prior, likelihood
    config.model.conv_channels, config.model.hidden = (4, 8), (16,)
    config.training.num_steps, config.training.log_every = 4, 2
    config.training.batch_size = 16
    config.sweep.betas = (0.5, 2.0)
    return config


@pytest.mark.parametrize(
    "likelihood,keys", [("bernoulli", {"logits"}), ("gaussian", {"mean", "log_var"})]
)
@pytest.mark.parametrize("side", [8, 28])
def test_conv_cvae_shapes(likelihood, keys, side):
    config = _tiny(likelihood=likelihood)
    x = jnp.full((3, side * side), 0.5)
    model = build_model(config, Dataset(np.asarray(x), np.zeros(3, np.int32)))
    params = model.init(jax.random.key(0), x, jnp.array([0, 1, 2]), jax.random.key(1))
    terms = model.apply(params, x, jnp.array([0, 1, 2]), jax.random.key(2))
    assert terms["distortion"].shape == (3,)
    assert terms["rate_groups"].shape == (3, config.model.latent_dim)
    assert terms["reconstruction"].shape == (3, side * side)
    decoded = model.apply(params, jnp.zeros((3, 8)), jnp.array([0, 1, 2]), method=model.decode)
    assert set(decoded) == keys and all(v.shape == (3, side * side) for v in decoded.values())


def test_conv_rejects_images_it_cannot_halve_twice():
    with pytest.raises(ValueError, match="side divisible by 4; x has 36 pixels"):
        build_model(_tiny(), Dataset(np.zeros((2, 36), np.float32), np.zeros(2, np.int32)))


@pytest.mark.parametrize(
    "prior", ["standard", "fixed_conditional", "learned_conditional", "network"]
)
def test_every_prior_trains_on_digits(splits, prior):
    config = _tiny(kind="image_mlp", prior=prior)  # conv is covered by the smoke run
    config.sweep.betas = (1.0,)
    setup, result = runner.train_sweep(config, splits.train)
    assert isinstance(setup.model, models.BinarizedCVAE)  # smoke config binarises
    loss = result.history["loss"]  # [chunks, S, H]
    assert loss.shape == (2, 1, 1) and np.all(np.isfinite(loss))
    assert np.all(loss[-1] < loss[0])  # a few Adam steps already lower the loss
    assert np.all(np.asarray(result.state.diverged_at) == -1)


def test_dynamic_binarisation_depends_only_on_the_step_key():
    config = _tiny(kind="image_mlp")
    x = jnp.full((4, 64), 0.5)
    y = jnp.arange(4)
    model = build_model(config, Dataset(np.asarray(x), np.asarray(y)))
    params = model.init(jax.random.key(0), x, y, jax.random.key(1))
    run = lambda k: model.apply(params, x, y, jax.random.key(k))["distortion"]
    np.testing.assert_array_equal(run(5), run(5))  # same key, same binarisation
    assert not np.allclose(run(5), run(6))
    # On binary images binarisation changes nothing: the wrapper equals the plain cVAE
    # called with the second half of the step key.
    plain = models.CVAE(model.encoder, model.decoder, model.prior, model.num_classes)
    binary = (x + jnp.arange(64) / 128 > 0.75).astype(jnp.float32)
    wrapped = model.apply(params, binary, y, jax.random.key(7))["distortion"]
    key = jax.random.split(jax.random.key(7))[1]
    np.testing.assert_allclose(
        wrapped, plain.apply(params, binary, y, key)["distortion"], rtol=1e-6
    )


def test_classifier_reaches_sane_accuracy_on_digits(splits):
    module, params = classifier.train_classifier(splits.train, 10, (64,), num_steps=300)
    acc = classifier.accuracy(module, params, splits.test)
    assert acc > 0.85, acc  # chance is 0.1
    assert classifier.predict(module, params, jnp.asarray(splits.test.x[:7])).shape == (7,)


def test_in_batches_covers_every_example_once():
    x = jnp.arange(10.0)[:, None]
    out = estimators.in_batches(lambda a, b: {"v": a[:, 0] * 2 + b}, x, jnp.ones(10), 4)
    np.testing.assert_array_equal(out["v"], 2 * np.arange(10.0) + 1)
