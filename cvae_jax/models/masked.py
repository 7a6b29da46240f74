"""Masked convolutions and an autoregressive pixel decoder: PixelCNN (van den Oord et al.
2016a; conditioning as in van den Oord et al. 2016b) with a local window (VLAE, Chen et al. 2017).

  AutoregressiveDecoder(z [B, Dz], c [B, C], x [B, H*W]) -> {'logits': [B, H*W]}
  sample(key, logits_fn, shape) -> Sample(x [B, H*W], probs [B, H*W])

The logits are those of p(x_i | x_<i, z, c) for every pixel i at once (teacher forcing), in
raster order. The window, exactly (`window_mask`): logit i = (r, c) depends on pixel
j = (r', c') only if j comes before i in raster order, r - window <= r' <= r and
|c' - c| <= window. window = 0 leaves no pixel: a factorised decoder prod_i p(x_i | z, c).
window >= max(H, W) - 1 (`full_window`) leaves all of x_<i: a full PixelCNN. A small window
makes the decoder model local texture only, so global structure must go through z (Chen
et al. 2017).

Construction: the first layer, a mask-'A' convolution whose kernel is the window itself
(rows r - window..r, columns c - window..c + window; the centre and the pixels after it
masked), is the only one that reads x; the later layers are 1x1 mask-'B' convolutions, that
is per-pixel dense layers. Their union receptive field is then the window exactly, at any
depth. Stacking spatial mask-'B' layers, as PixelCNN does, grows the receptive field unevenly
(with 3x3 kernels, the row above reaches fewer columns to the right than the rows further
up), so the window could not be stated this simply; the price is that depth adds per-pixel
nonlinearity but no spatial context.

z and c enter through a map [H, W, cond_channels] computed by a dense network from [z, c] and
projected into every layer (the spatial conditioning of van den Oord et al. 2016b). A bias
shared by all pixels would not do: with window = 0, every pixel would get the same logit.
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.errors import ConfigError, ContractError
from cvae_jax.models.mlp import MLP, activation_fn
from cvae_jax.models.registry import DECODERS

MASK_TYPES = ("A", "B")


def conv_mask(window: int, mask_type: str) -> np.ndarray:
    """The 0/1 mask [window + 1, 2 * window + 1] of a kernel over rows r - window..r and
    columns c - window..c + window of output pixel (r, c): the rows above are open; in the
    centre row, the columns to the left, and the centre itself for mask 'B' only."""
    mask = np.ones((window + 1, 2 * window + 1), bool)
    mask[-1, window + (mask_type == "B") :] = False
    return mask


def window_mask(image_shape: tuple[int, int], window: int) -> np.ndarray:
    """[H*W, H*W] bool: entry [i, j] says whether logit i may depend on pixel j (see above)."""
    height, width = image_shape
    index = np.arange(height * width)
    row, col = np.divmod(index, width)
    before = index[None, :] < index[:, None]  # j < i in raster order, so also r' <= r
    near = (row[:, None] - row[None, :] <= window) & (np.abs(col[:, None] - col[None, :]) <= window)
    return before & near


def full_window(image_shape: tuple[int, int]) -> int:
    """The smallest window that leaves logit i all of x_<i: a full PixelCNN."""
    return max(image_shape) - 1


class MaskedConv(nn.Module):
    """A same-size convolution [N, H, W, C_in] -> [N, H, W, features] over the causal window.

    The kernel [window + 1, 2 * window + 1, C_in, features] is multiplied by `conv_mask`, a
    numpy constant: masked weights are exact zeros in every pass, whatever the optimiser does.
    One channel group: mask 'B' opens the centre to every input channel, which is right for
    hidden features of one binary image, not for the colour channels of PixelCNN's RGB.
    """

    features: int
    window: int = 0
    mask_type: str = "B"
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros

    @nn.compact
    def __call__(self, x):  # [N, H, W, C_in]
        if self.mask_type not in MASK_TYPES:
            raise ConfigError(f"MaskedConv.mask_type={self.mask_type!r}; use 'A' or 'B'.")
        mask = conv_mask(self.window, self.mask_type)  # [kh, kw]
        shape = (*mask.shape, x.shape[-1], self.features)
        kernel = self.param("kernel", self.kernel_init, shape)
        bias = self.param("bias", self.bias_init, (self.features,))
        kernel = jnp.where(mask[:, :, None, None], kernel, 0)
        if self.window == 0:  # 1x1: a dense layer on the channel axis
            return x @ kernel[0, 0] + bias
        w = self.window
        out = jax.lax.conv_general_dilated(
            x, kernel, (1, 1), ((w, 0), (w, w)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )  # out[r, c] reads x[r - w + a, c - w + b] with kernel[a, b]
        return out + bias


class AutoregressiveDecoder(nn.Module):
    """p(x | z, c) = prod_i Bernoulli(x_i; sigmoid(logit_i(x_<i in the window, z, c))).

    Called as decoder(z, c, x): the decoder interface of `mlp.py` with the image as well. The
    leading axes of z, c and x broadcast (K samples of z [K, B, Dz] against x [B, H*W]).
    """

    uses_x = True  # the CVAE passes the observed image (teacher forcing)

    image_shape: tuple[int, int]
    window: int
    num_layers: int = 2  # masked layers before the 1x1 output: one 'A', then 1x1 'B' layers
    channels: int = 32
    hidden: Sequence[int] = (64,)  # the dense network from [z, c] to the conditioning map
    cond_channels: int = 4
    activation: str = "relu"

    @nn.compact
    def __call__(self, z, c, x):
        if self.window < 0 or self.num_layers < 1:
            raise ConfigError(
                f"AutoregressiveDecoder has window={self.window} and num_layers="
                f"{self.num_layers}; it needs window >= 0 (0: factorised) and num_layers >= 1."
            )
        height, width = self.image_shape
        if x.shape[-1] != height * width:
            raise ContractError(
                f"AutoregressiveDecoder for {height}x{width} images got x with "
                f"{x.shape[-1]} pixels on its last axis; it needs {height * width}."
            )
        act = activation_fn(self.activation)
        g = MLP(self.hidden, self.activation)((z, c))  # c's product is shared by samples of z
        s = nn.Dense(height * width * self.cond_channels, name="cond_map")(g)  # [..., H*W*K]
        lead = jnp.broadcast_shapes(s.shape[:-1], x.shape[:-1])
        s = jnp.broadcast_to(s, (*lead, s.shape[-1]))
        s = s.reshape(-1, height, width, self.cond_channels)  # [N, H, W, K]
        x = jnp.broadcast_to(x, (*lead, x.shape[-1])).astype(s.dtype)
        h = x.reshape(-1, height, width, 1)  # [N, H, W, 1]
        for i in range(self.num_layers):
            window, mask_type = (self.window, "A") if i == 0 else (0, "B")
            pre = MaskedConv(self.channels, window, mask_type, name=f"MaskedConv_{i}")(h)
            pre = pre + nn.Dense(self.channels, use_bias=False, name=f"cond_{i}")(s)
            h = act(pre)  # [N, H, W, channels]
        out = MaskedConv(1, 0, "B", name="out")(h)  # [N, H, W, 1]
        return {"logits": out.reshape(*lead, height * width)}


class Sample(NamedTuple):
    x: jax.Array  # [..., H*W] the drawn pixels, 0.0 or 1.0
    probs: jax.Array  # [..., H*W] the Bernoulli probability each pixel was drawn with


def sample_with_uniforms(uniforms, logits_fn: Callable[[jax.Array], jax.Array]) -> Sample:
    """x_i = 1[u_i < p_i], p_i = sigmoid(logits_fn(x)[..., i]), x holding the pixels drawn so far.

    One `fori_loop` over the pixels in raster order, each step one parallel pass of
    `logits_fn` (x [..., N] -> logits [..., N]) read at pixel i: one compiled loop, O(N)
    passes. Pixels >= i are still 0 when logit i is read; an autoregressive logits_fn ignores
    them. uniforms: [..., N] in [0, 1); u < p is a Bernoulli(p) draw.
    """

    def step(i, carry):
        x, probs = carry
        p = jax.nn.sigmoid(jnp.take(logits_fn(x), i, axis=-1))  # [...]
        x = x.at[..., i].set((jnp.take(uniforms, i, axis=-1) < p).astype(x.dtype))
        return x, probs.at[..., i].set(p)

    zeros = jnp.zeros(uniforms.shape, jnp.float32)
    return Sample(*jax.lax.fori_loop(0, uniforms.shape[-1], step, (zeros, zeros)))


def sample(key, logits_fn: Callable[[jax.Array], jax.Array], shape: tuple[int, ...]) -> Sample:
    """x ~ prod_i p(x_i | x_<i) of an autoregressive logits_fn, x of `shape` [..., N]."""
    return sample_with_uniforms(jax.random.uniform(key, shape), logits_fn)


def sample_decoder(key, decoder: AutoregressiveDecoder, variables, z, c) -> Sample:
    """x ~ p(x | z, c) from the decoder's variables: `sample` with z and c fixed."""
    lead = jnp.broadcast_shapes(z.shape[:-1], c.shape[:-1])
    num_pixels = decoder.image_shape[0] * decoder.image_shape[1]
    return sample(key, lambda x: decoder.apply(variables, z, c, x)["logits"], (*lead, num_pixels))


DECODER_KEYS = ("decoder_window", "decoder_layers", "decoder_channels")


@DECODERS.register("autoregressive", config_keys=DECODER_KEYS)
def autoregressive_decoder(model_config, output_dim: int) -> AutoregressiveDecoder:
    """PixelCNN-style p(x|z,c) over square binary images: `model.decoder_window` pixels of
    context around each pixel (0: factorised; the image side - 1 or more: a full PixelCNN)."""
    m, side = model_config, int(round(np.sqrt(output_dim)))
    if side * side != output_dim or m.likelihood != "bernoulli":
        raise ConfigError(
            f"model.decoder='autoregressive' models square binary images with a Bernoulli "
            f"likelihood; this data has {output_dim} features and model.likelihood="
            f"{m.likelihood!r}. Use model.decoder='factorised' for other data."
        )
    # A window beyond the image side - 1 reaches no further pixel: clipped to the full window.
    window = min(int(m.get("decoder_window", 3)), full_window((side, side)))
    return AutoregressiveDecoder(
        (side, side), window, int(m.get("decoder_layers", 2)),
        int(m.get("decoder_channels", 32)), tuple(m.hidden), activation=m.activation,
    )  # fmt: skip
