"""The matrix-product strided convolutions equal flax's convolutions, parameters included."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import digits as digits_config
from cvae_jax.data import Dataset
from cvae_jax.errors import ConfigError
from cvae_jax.models import build_model
from cvae_jax.models.mlp import MLP
from cvae_jax.models.strided import StridedConv, StridedConvTranspose

CASES = [(28, 1, 16), (14, 16, 32), (8, 3, 5), (7, 4, 2)]


def _equal_trees(a, b) -> bool:
    return jax.tree.all(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), a, b))


@pytest.mark.parametrize("side,cin,cout", CASES)
@pytest.mark.parametrize("transpose", [False, True])
def test_strided_layer_equals_flax(side, cin, cout, transpose):
    if side % 2 and not transpose:
        pytest.skip("the strided convolution needs an even side (the conv model's contract)")
    key = jax.random.key(side)
    x = jax.random.normal(key, (2, 3, side, side, cin))  # two leading axes, as under vmap
    ours = StridedConvTranspose(cout) if transpose else StridedConv(cout)
    flax_layer = nn.ConvTranspose if transpose else nn.Conv
    ref = flax_layer(cout, (3, 3), strides=(2, 2), padding="SAME")
    params = jax.jit(ref.init)(key, x)
    assert _equal_trees(params, jax.jit(ours.init)(key, x))  # same names, shapes, values

    @jax.jit
    def output_and_kernel_grad(params):
        # The backward pass is what the train step runs, so gradients must agree too.
        out = {}
        for name, layer in (("ref", ref), ("ours", ours)):
            y, vjp = jax.vjp(lambda p, layer=layer: layer.apply(p, x), params)
            out[name] = y, vjp(y)[0]["params"]["kernel"]
        return out

    out = output_and_kernel_grad(params)
    assert out["ours"][0].shape == out["ref"][0].shape
    np.testing.assert_allclose(out["ours"][0], out["ref"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["ours"][1], out["ref"][1], rtol=1e-4, atol=1e-3)


def test_conv_impls_build_the_same_model():
    config = digits_config.get_config("smoke")
    config.model.conv_channels, config.model.hidden = (4, 8), (16,)
    rng = np.random.default_rng(0)
    data = Dataset((rng.random((4, 64)) > 0.5).astype(np.float32), np.arange(4, dtype=np.int32))
    key = jax.random.key(0)
    results = {}
    for impl in ("xla", "matmul"):
        config.model.conv_impl = impl
        model = build_model(config, data)
        params = jax.jit(model.init)(key, data.x, data.y, key)
        results[impl] = params, jax.jit(model.apply)(params, data.x, data.y, key)
    assert _equal_trees(results["xla"][0], results["matmul"][0])
    for name, value in results["xla"][1].items():
        np.testing.assert_allclose(results["matmul"][1][name], value, rtol=1e-5, atol=1e-4)
    config.model.conv_impl = "fft"
    with pytest.raises(ConfigError, match="model.conv_impl: Unknown conv impl 'fft'"):
        build_model(config, data)


def test_parts_dense_equals_dense_on_the_concatenation_in_a_deep_mlp():
    z, c = (
        jax.random.normal(jax.random.key(1), (5, 3)),
        jax.random.normal(jax.random.key(2), (5, 7)),
    )
    key = jax.random.key(0)
    deep = MLP((8, 6, 4))
    params = jax.jit(deep.init)(key, (z, c))
    assert list(params["params"]) == ["Dense_0", "Dense_1", "Dense_2"]  # nn.Dense's names
    reference = jax.jit(MLP((8, 6, 4)).apply)(params, jnp.concatenate([z, c], axis=-1))
    got = jax.jit(deep.apply)(params, (z, c))
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6)
    assert _equal_trees(params, jax.jit(MLP((8, 6, 4)).init)(key, jnp.concatenate([z, c], -1)))
