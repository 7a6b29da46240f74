"""Stride-2, 3x3, 'SAME' convolutions written as one matrix product (space-to-depth).

XLA:CPU runs convolutions inside a while loop (what `lax.scan` lowers to) several times
slower than the same convolutions at the top level of a jitted function (jax-ml/jax#12868),
and a sweep trains inside `lax.scan`. Matrix products do not have that problem, so on CPU
the conv model uses these layers: same parameters (names, shapes, initialisers) and the
same function as `nn.Conv` / `nn.ConvTranspose` with strides 2 and padding 'SAME', computed
as a gather of 2x2 neighbourhoods followed by a single dot:

- StridedConv: the input is folded into 2x2 blocks (space-to-depth, [H/2, W/2, 4C]); each
  output pixel reads the 2x2 blocks at its position and the next ones, so the 3x3 kernel is
  a [16C, O] matrix with 9 of its 16 [C, O] blocks non-zero.
- StridedConvTranspose: output pixel (2i+a, 2j+b) reads inputs (i-1|i, j-1|j) only, so the
  transposed convolution is a [4C, 4O] product on the 2x2 neighbourhoods followed by
  depth-to-space (the sub-pixel form of Shi et al. 2016), with no inserted zeros.

Both need even spatial sizes for the forward direction (the conv model checks multiples of 4).
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np


def _selector(taps: dict) -> np.ndarray:
    """[2, 2, 3] one-hot: which kernel tap links (offset, phase) along one axis (or none)."""
    s = np.zeros((2, 2, 3), np.float32)
    for (offset, phase), tap in taps.items():
        s[offset, phase, tap] = 1.0
    return s


# Conv: output o reads blocks o and o+1 of 2 pixels; block o's phases 0, 1 are taps 0, 1 and
# block o+1's phase 0 is tap 2 ('SAME' pads one pixel after, none before).
_CONV = _selector({(0, 0): 0, (0, 1): 1, (1, 0): 2})  # (block offset, phase) -> tap
# Transpose: output 2i+a reads x[i-1] (a=0: tap 0) and x[i] (a=0: tap 2, a=1: tap 1), which
# is lax.conv_transpose's 'SAME' padding (2, 1) of the zero-dilated input.
_TRANSPOSE = _selector({(0, 0): 0, (1, 0): 2, (1, 1): 1})  # (offset i-1|i, phase) -> tap
_PAIRS = [(0, 0), (0, 1), (1, 0), (1, 1)]


def _neighbourhoods(x, pad):
    """[..., H, W, C] -> [..., H, W, 4C]: x at offsets (0|1, 0|1) after padding by `pad`."""
    h, w = x.shape[-3:-1]
    xp = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [pad, pad, (0, 0)])
    parts = [xp[..., dh : dh + h, dw : dw + w, :] for dh, dw in _PAIRS]
    return jnp.concatenate(parts, axis=-1)


def _params(module, x):
    shape = (3, 3, x.shape[-1], module.features)
    kernel = module.param("kernel", nn.initializers.lecun_normal(), shape)
    return kernel, module.param("bias", nn.initializers.zeros, (module.features,))


class StridedConv(nn.Module):
    """nn.Conv(features, (3, 3), strides=(2, 2), padding='SAME') on [..., H, W, C], H, W even."""

    features: int

    @nn.compact
    def __call__(self, x):
        kernel, bias = _params(self, x)
        *lead, h, w, c = x.shape
        blocks = x.reshape(*lead, h // 2, 2, w // 2, 2, c)
        blocks = jnp.moveaxis(blocks, -4, -3).reshape(*lead, h // 2, w // 2, 4 * c)
        patches = _neighbourhoods(blocks, (0, 1))  # blocks o and o+1 along each axis
        # Rows ordered as the patches: block offset (dh, dw), phase (ph, pw), channel.
        weight = jnp.einsum("hpt,wqu,tuco->hwpqco", _CONV, _CONV, kernel)
        return patches @ weight.reshape(16 * c, self.features) + bias


class StridedConvTranspose(nn.Module):
    """nn.ConvTranspose(features, (3, 3), strides=(2, 2), padding='SAME'): [..., H, W, C] ->
    [..., 2H, 2W, features]."""

    features: int

    @nn.compact
    def __call__(self, x):
        kernel, bias = _params(self, x)
        *lead, h, w, c = x.shape
        patches = _neighbourhoods(x, (1, 0))  # x[i-1] and x[i] along each axis
        # Rows: offset (nh, nw), channel; columns: output phase (a, b), feature.
        weight = jnp.einsum("hat,wbu,tuco->hwcabo", _TRANSPOSE, _TRANSPOSE, kernel)
        y = (patches @ weight.reshape(4 * c, 4 * self.features)).reshape(
            *lead, h, w, 2, 2, self.features
        )
        y = jnp.moveaxis(y, -3, -4).reshape(*lead, 2 * h, 2 * w, self.features)
        return y + bias
