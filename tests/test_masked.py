"""The autoregressive pixel decoder (PixelCNN, van den Oord et al. 2016a, with a local window as
in VLAE, Chen et al. 2017): exact raster-order and window dependence by autodiff, the
factorised window = 0 case, and the sequential sampler against the parallel pass."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError, ContractError
from cvae_jax.evaluation import estimators
from cvae_jax.models.masked import (
    AutoregressiveDecoder,
    conv_mask,
    full_window,
    sample,
    sample_decoder,
    sample_with_uniforms,
    window_mask,
)
from cvae_jax.training import runner

SHAPE = (5, 6)  # not square: a transposed row/column would show
N, B, DZ, C = 30, 3, 2, 3


@functools.cache
def _decoder(window, seed=0, num_layers=3):
    """A decoder, random nonzero variables for it (numpy, at the shapes init would give:
    eval_shape compiles nothing), z [B, DZ], c [B, C] and a binary x [B, N]."""
    decoder = AutoregressiveDecoder(SHAPE, window, num_layers, channels=8, hidden=(16,))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((B, DZ), np.float32)
    c = rng.standard_normal((B, C), np.float32)
    x = (rng.uniform(size=(B, N)) < 0.5).astype(np.float32)
    shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), z, c, x))

    def draw(s):  # kernels at lecun scale over their fan-in, small nonzero biases
        scale = 1 / np.sqrt(np.prod(s.shape[:-1])) if len(s.shape) > 1 else 0.1
        return (rng.standard_normal(s.shape) * scale).astype(np.float32)

    return decoder, jax.tree_util.tree_map(draw, shapes), z, c, x


def _jacobians(window):
    """d logit_i / d x_j [B, N, N] at each of the B images, and the logits [B, N]."""
    decoder, variables, z, c, x = _decoder(window)
    logits = lambda xb, zb, cb: decoder.apply(variables, zb, cb, xb)["logits"]
    run = jax.jit(lambda x: (jax.vmap(jax.jacfwd(logits))(x, z, c), logits(x, z, c)))
    return run(x)


def test_conv_mask_and_window_definition():
    np.testing.assert_array_equal(conv_mask(1, "A"), [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(conv_mask(1, "B"), [[1, 1, 1], [1, 1, 0]])
    assert not conv_mask(0, "A").any() and conv_mask(0, "B").all()
    allowed = window_mask(SHAPE, 1)
    i = 2 * 6 + 3  # pixel (2, 3): (1, 2), (1, 3), (1, 4) above and (2, 2) to its left
    assert sorted(np.flatnonzero(allowed[i])) == [8, 9, 10, 14]
    assert not window_mask(SHAPE, 0).any()
    np.testing.assert_array_equal(window_mask(SHAPE, full_window(SHAPE)), np.tri(N, k=-1))


@pytest.mark.parametrize("window", [1, 2, full_window(SHAPE)])
def test_logit_depends_exactly_on_the_window_before_it(window):
    jac, _ = _jacobians(window)  # [B, N, N]
    allowed = window_mask(SHAPE, window)
    jac = np.asarray(jac)
    assert np.all(jac[:, ~allowed] == 0.0)  # exact zeros: j >= i or j outside the window
    # and every allowed pixel matters (generic variables, summed over a few images)
    np.testing.assert_array_equal(np.abs(jac).sum(0) > 0, allowed)


def test_window_zero_is_a_factorised_decoder():
    jac, logits = _jacobians(0)
    assert np.all(np.asarray(jac) == 0.0)
    decoder, variables, z, c, x = _decoder(0)
    other = jax.jit(lambda x: decoder.apply(variables, z, c, x)["logits"])(1.0 - x)
    np.testing.assert_array_equal(other, logits)
    # The same numbers from the same variables with x left out: a dense network of [z, c]
    # to a map [H, W, K], then a per-pixel MLP of that map.
    p = jax.tree_util.tree_map(np.asarray, variables["params"])
    dense = lambda h, q: h @ q["kernel"] + q["bias"]
    g = np.maximum(dense(np.concatenate([z, c], -1), p["MLP_0"]["Dense_0"]), 0)  # [B, 16]
    s = dense(g, p["cond_map"]).reshape(B, *SHAPE, -1)  # [B, H, W, K]
    h = np.maximum(p["MaskedConv_0"]["bias"] + s @ p["cond_0"]["kernel"], 0)  # no x term
    for i in (1, 2):
        conv = p[f"MaskedConv_{i}"]
        h = np.maximum(h @ conv["kernel"][0, 0] + conv["bias"] + s @ p[f"cond_{i}"]["kernel"], 0)
    expected = (h @ p["out"]["kernel"][0, 0] + p["out"]["bias"]).reshape(B, N)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("window", [2, full_window(SHAPE)])
def test_sampler_uses_the_parallel_conditionals(window):
    decoder, variables, z, c, _ = _decoder(window)
    logits_fn = lambda x: decoder.apply(variables, z, c, x)["logits"]
    uniforms = np.random.default_rng(1).uniform(size=(B, N)).astype(np.float32)

    @jax.jit
    def run(uniforms):
        drawn = sample_with_uniforms(uniforms, logits_fn)
        return drawn, jax.nn.sigmoid(logits_fn(drawn.x))

    drawn, parallel = run(uniforms)
    # Each pixel was drawn with the probability the parallel pass gives it on the sample,
    np.testing.assert_allclose(drawn.probs, parallel, rtol=1e-6, atol=1e-7)
    # and is that probability thresholded by its uniform.
    np.testing.assert_array_equal(drawn.x, (uniforms < drawn.probs).astype(np.float32))
    assert 0 < float(np.mean(drawn.x)) < 1


def test_same_key_same_sample_in_one_loop():
    decoder, variables, z, c, _ = _decoder(1)
    logits_fn = lambda x: decoder.apply(variables, z, c, x)["logits"]
    draw = jax.jit(lambda key: sample_decoder(key, decoder, variables, z, c))
    first, again, other = (draw(jax.random.key(k)) for k in (7, 7, 8))
    np.testing.assert_array_equal(first.x, again.x)
    assert np.any(first.x != other.x)
    uniforms = jax.jit(lambda key: jax.random.uniform(key, (B, N)))(jax.random.key(7))
    np.testing.assert_array_equal(first.x, (uniforms < first.probs).astype(np.float32))
    # One loop over the pixels, one parallel pass in its body: not unrolled in Python.
    jaxpr = str(jax.make_jaxpr(lambda key: sample(key, logits_fn, (B, N)))(jax.random.key(0)))
    loops = jaxpr.count("while[") + jaxpr.count("scan[")
    assert loops == 1 and jaxpr.count("conv_general_dilated[") == 1


def test_leading_axes_broadcast_and_bad_inputs_fail():
    decoder, variables, z, c, x = _decoder(1)
    shapes = jax.eval_shape(lambda: decoder.apply(variables, jnp.stack([z] * 4), c, x))
    assert shapes["logits"].shape == (4, B, N)  # 4 samples of z against one x
    with pytest.raises(ContractError, match="30"):
        decoder.apply(variables, z, c, x[:, :-1])
    with pytest.raises(ConfigError, match="window"):
        AutoregressiveDecoder(SHAPE, -1).init(jax.random.key(0), z, c, x)


def _autoregressive_config(window=2):
    config = base_config()
    config.data.name, config.data.num_classes = "digits", 10
    config.model.kind, config.model.likelihood = "image_mlp", "bernoulli"
    config.model.decoder, config.model.hidden, config.model.latent_dim = "autoregressive", (8,), 3
    with config.unlocked():
        config.model.decoder_window, config.model.decoder_channels = window, 4
    config.training.num_steps, config.training.log_every, config.training.batch_size = 10, 10, 8
    config.sweep.betas, config.sweep.num_seeds = (0.5, 2.0), 1
    return config


def test_an_autoregressive_cvae_trains_in_a_sweep_and_draws_images_in_one_loop():
    config = _autoregressive_config()
    # With the families' richest combination: a flow prior, an IAF posterior and the IWAE
    # objective, whose k samples of z are decoded against the same image.
    config.model.prior, config.model.posterior, config.objective.iwae_samples = "flow", "iaf", 2
    config.model.flow_hidden = (8,)
    setup, result = runner.train_sweep(config)
    assert all(np.isfinite(r["final_loss"]) and r["diverged_at"] == -1 for r in result.rows())
    # Scoring needs the image (teacher forcing); images come from the compiled sampler.
    z, y = jnp.zeros((2, 3)), jnp.zeros((2,), jnp.int32)
    with pytest.raises(ContractError, match="decode\\(z, y, x\\) needs the image x"):
        setup.model.apply(result.member_params(0, 0), z, y, method=setup.model.decode)
    images = estimators.decode_mean(setup.model, result.member_params(0, 0), z, y)
    assert images.shape == (2, 64) and bool(jnp.all((images >= 0) & (images <= 1)))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"decoder_window": -1}, "model.decoder_window=-1"),
        ({"kind": "conv"}, "model.decoder='autoregressive' is built by the MLP model kinds"),
        ({"likelihood": "gaussian"}, "models square binary images with a Bernoulli likelihood"),
    ],
)
def test_bad_autoregressive_settings_are_one_line(overrides, message):
    config = _autoregressive_config()
    for key, value in overrides.items():
        config.model[key] = value
    with pytest.raises(ConfigError, match=message):
        runner.build_setup(config)
