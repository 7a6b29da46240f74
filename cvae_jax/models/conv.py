"""The image cVAE: a small convolutional encoder/decoder pair (`model.kind='conv'`).

Same interface as `mlp.py` (flat images in and out, so the engine trains them unchanged):
  ConvEncoder(x [B, H*W], c [B, C]) -> q(z|x,c) (and a flow's context), as MLPEncoder
  ConvDecoder(z [B, Dz], c [B, C]) -> {'logits'} or {'mean', 'log_var'}, each [B, H*W]
Two stride-2 convolutions take an HxW image to (H/4)x(W/4), so H and W must be multiples
of 4 (8x8 digits, 28x28 MNIST). Any registered prior plugs in.

`model.conv_impl` picks how the strided convolutions are computed: 'matmul' (the
space-to-depth matrix products of `strided.py`, the default on CPU, where XLA runs
convolutions inside `lax.scan` several times slower than at top level), 'xla' (lax
convolutions, the default on GPU and TPU), or 'auto'. Both compute the same function with
the same parameters.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import checks
from cvae_jax.errors import ConfigError
from cvae_jax.models.cvae import CVAE
from cvae_jax.models.mlp import (
    activation_fn,
    context_dim,
    decoder_options,
    gaussian_head,
    gaussian_log_var,
)
from cvae_jax.models.registry import MODELS, build_posterior, build_prior
from cvae_jax.models.strided import StridedConv, StridedConvTranspose

CONV_IMPLS = ("auto", "matmul", "xla")


def resolve_conv_impl(impl: str) -> str:
    """'auto' -> 'matmul' on CPU, 'xla' elsewhere (see the module docstring)."""
    checks.choice("model.conv_impl", impl, CONV_IMPLS)
    if impl == "auto":
        return "matmul" if jax.default_backend() == "cpu" else "xla"
    return impl


def _down(features: int, impl: str, name=None) -> nn.Module:
    if impl == "matmul":
        return StridedConv(features, name=name)
    return nn.Conv(features, (3, 3), strides=(2, 2), padding="SAME", name=name)


def _up(features: int, impl: str, name=None) -> nn.Module:
    if impl == "matmul":
        return StridedConvTranspose(features, name=name)
    return nn.ConvTranspose(features, (3, 3), strides=(2, 2), padding="SAME", name=name)


class ConvEncoder(nn.Module):
    """q(z | x, y): two strided convolutions, then the condition joins a dense layer."""

    latent_dim: int
    image_shape: tuple[int, int]
    channels: Sequence[int] = (16, 32)
    hidden: int = 128
    activation: str = "relu"
    use_condition: bool = True
    conv_impl: str = "matmul"
    context_dim: int = 0

    @nn.compact
    def __call__(self, x, c):
        act = activation_fn(self.activation)
        h = x.reshape(x.shape[:-1] + (*self.image_shape, 1))  # [B, H, W, 1]
        for i, ch in enumerate(self.channels):  # names as nn.Conv's: same parameters either way
            h = act(_down(ch, self.conv_impl, name=f"Conv_{i}")(h))
        h = h.reshape(h.shape[:-3] + (-1,))  # [B, H/4 * W/4 * C]
        if self.use_condition:
            h = jnp.concatenate([h, c], axis=-1)
        h = act(nn.Dense(self.hidden)(h))
        return gaussian_head(self, h)


class ConvDecoder(nn.Module):
    """p(x | z, y): dense to a (H/4)x(W/4) feature map, two transposed convolutions up."""

    image_shape: tuple[int, int]
    channels: Sequence[int] = (16, 32)
    hidden: int = 128
    activation: str = "relu"
    likelihood: str = "bernoulli"
    variance: str = "fixed"  # Gaussian only, as in models.MLPDecoder
    fixed_log_var: float = 0.0
    conv_impl: str = "matmul"

    @nn.compact
    def __call__(self, z, c):
        act = activation_fn(self.activation)
        height, width = (s // 2 ** len(self.channels) for s in self.image_shape)
        g = act(nn.Dense(self.hidden)(jnp.concatenate([z, c], axis=-1)))
        h = act(nn.Dense(height * width * self.channels[-1])(g))
        h = h.reshape(h.shape[:-1] + (height, width, self.channels[-1]))
        for i, ch in enumerate(reversed(self.channels[:-1])):
            h = act(_up(ch, self.conv_impl, name=f"ConvTranspose_{i}")(h))
        out = _up(1, self.conv_impl, name="out")(h)
        out = out.reshape(out.shape[:-3] + (-1,))  # [B, H*W]
        if self.likelihood == "bernoulli":
            return {"logits": out}
        return {"mean": out, "log_var": gaussian_log_var(self, g, out.shape)}


def _image_shape(input_dim: int) -> tuple[int, int]:
    side = int(round(np.sqrt(input_dim)))
    if side * side != input_dim or side % 4:
        raise ConfigError(
            f"model.kind='conv' needs square images with a side divisible by 4; "
            f"x has {input_dim} pixels."
        )
    return side, side


@MODELS.register("conv", config_keys=("conv_channels", "conv_impl"))
def build_conv_cvae(config, data) -> CVAE:
    """The convolutional cVAE described by the `model` section, sized from the data."""
    m, num_classes = config.model, config.data.get("num_classes", 0)
    shape, act = _image_shape(data.x.shape[1]), m.activation
    channels = tuple(m.get("conv_channels", (16, 32)))
    hidden = int(m.hidden[0]) if len(m.hidden) else 128
    impl = resolve_conv_impl(m.get("conv_impl", "auto"))
    posterior = build_posterior(m)
    encoder = ConvEncoder(
        m.latent_dim, shape, channels, hidden, act, m.encoder_uses_label, conv_impl=impl,
        context_dim=context_dim(posterior),
    )  # fmt: skip
    decoder = ConvDecoder(shape, channels, hidden, act, **decoder_options(m), conv_impl=impl)
    prior = build_prior(m, num_classes, data.x.shape[1])
    return CVAE(encoder, decoder, prior, num_classes, posterior=posterior)
