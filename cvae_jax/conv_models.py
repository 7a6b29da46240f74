"""Image cVAEs: a small convolutional encoder/decoder pair, and dynamic binarisation.

Same interface as `models.py` (flat images in and out, so the engine trains them unchanged):
  ConvEncoder(x [B, H*W], c [B, C]) -> (mean [B, Dz], log_var [B, Dz])
  ConvDecoder(z [B, Dz], c [B, C]) -> {'logits'} or {'mean', 'log_var'}, each [B, H*W]
Two stride-2 convolutions take an HxW image to (H/4)x(W/4), so H and W must be multiples
of 4 (8x8 digits, 28x28 MNIST). Any of the four priors of `models.build_prior` plugs in.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import models

KINDS = ("conv", "image_mlp")


class ConvEncoder(nn.Module):
    """q(z | x, y): two strided convolutions, then the condition joins a dense layer."""

    latent_dim: int
    image_shape: tuple[int, int]
    channels: Sequence[int] = (16, 32)
    hidden: int = 128
    activation: str = "relu"
    use_condition: bool = True

    @nn.compact
    def __call__(self, x, c):
        act = models.activation_fn(self.activation)
        h = x.reshape(x.shape[:-1] + (*self.image_shape, 1))  # [B, H, W, 1]
        for ch in self.channels:
            h = act(nn.Conv(ch, (3, 3), strides=(2, 2), padding="SAME")(h))
        h = h.reshape(h.shape[:-3] + (-1,))  # [B, H/4 * W/4 * C]
        if self.use_condition:
            h = jnp.concatenate([h, c], axis=-1)
        h = act(nn.Dense(self.hidden)(h))
        return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="log_var")(
            h
        )


class ConvDecoder(nn.Module):
    """p(x | z, y): dense to a (H/4)x(W/4) feature map, two transposed convolutions up."""

    image_shape: tuple[int, int]
    channels: Sequence[int] = (16, 32)
    hidden: int = 128
    activation: str = "relu"
    likelihood: str = "bernoulli"
    variance: str = "fixed"  # Gaussian only, as in models.MLPDecoder
    fixed_log_var: float = 0.0

    @nn.compact
    def __call__(self, z, c):
        act = models.activation_fn(self.activation)
        height, width = (s // 2 ** len(self.channels) for s in self.image_shape)
        g = act(nn.Dense(self.hidden)(jnp.concatenate([z, c], axis=-1)))
        h = act(nn.Dense(height * width * self.channels[-1])(g))
        h = h.reshape(h.shape[:-1] + (height, width, self.channels[-1]))
        for ch in reversed(self.channels[:-1]):
            h = act(nn.ConvTranspose(ch, (3, 3), strides=(2, 2), padding="SAME")(h))
        out = nn.ConvTranspose(1, (3, 3), strides=(2, 2), padding="SAME", name="out")(h)
        out = out.reshape(out.shape[:-3] + (-1,))  # [B, H*W]
        if self.likelihood == "bernoulli":
            return {"logits": out}
        return {"mean": out, "log_var": models.gaussian_log_var(self, g, out.shape)}


class BinarizedCVAE(models.CVAE):
    """Trains on x ~ Bernoulli(pixels) drawn afresh each step (dynamic binarisation).

    The binarisation key is split from the step's own key, so the draws depend only on
    (seed, step) and a resumed or vmapped run sees the same ones. Evaluation methods
    (encode, decode, prior_params) see x unchanged.
    """

    def __call__(self, x, y, key):
        binarize_key, sample_key = jax.random.split(key)
        x = jax.random.bernoulli(binarize_key, x).astype(x.dtype)
        return super().__call__(x, y, sample_key)


def _image_shape(input_dim: int) -> tuple[int, int]:
    side = int(round(np.sqrt(input_dim)))
    if side * side != input_dim or side % 4:
        raise ValueError(
            f"model.kind='conv' needs square images with a side divisible by 4; "
            f"x has {input_dim} pixels."
        )
    return side, side


def build_conv_cvae(model_config, input_dim: int, num_classes: int) -> models.CVAE:
    """The convolutional cVAE described by a `model` config section."""
    shape, act = _image_shape(input_dim), model_config.activation
    channels = tuple(model_config.get("conv_channels", (16, 32)))
    hidden = int(model_config.hidden[0]) if len(model_config.hidden) else 128
    encoder = ConvEncoder(
        model_config.latent_dim, shape, channels, hidden, act, model_config.encoder_uses_label
    )
    decoder = ConvDecoder(
        shape,
        channels,
        hidden,
        act,
        likelihood=model_config.likelihood,
        variance=model_config.decoder_variance,
        fixed_log_var=float(np.log(model_config.decoder_fixed_variance)),
    )
    return models.CVAE(encoder, decoder, models.build_prior(model_config, num_classes), num_classes)


def build_image_cvae(config, data) -> models.CVAE:
    """model.kind 'conv' or 'image_mlp', with dynamic binarisation if data.binarize='dynamic'."""
    num_classes = config.data.get("num_classes", 0)
    if config.model.likelihood not in ("gaussian", "bernoulli"):
        raise ValueError(
            f"Unknown model.likelihood {config.model.likelihood!r}; use 'gaussian' or 'bernoulli'."
        )
    if config.model.kind == "conv":
        model = build_conv_cvae(config.model, data.x.shape[1], num_classes)
    else:
        model = models.build_mlp_cvae(config.model, data.x.shape[1], num_classes)
    if config.data.get("binarize", "none") == "dynamic":
        return BinarizedCVAE(model.encoder, model.decoder, model.prior, num_classes)
    return model
