"""MADE, the masked autoencoder for distribution estimation (Germain et al. 2015), in Flax.

  made(x [..., D], context [..., H] or None) -> (shift [..., D], log_scale [..., D])

Output i depends on x_<i only (strictly autoregressive in the natural order 0..D-1) and freely
on the context. It supplies the parameters of an autoregressive affine flow
(`cvae_jax.core.bijectors.AutoregressiveAffine`): an inverse autoregressive flow posterior
(Kingma et al. 2016) or an autoregressive-flow prior (Chen et al. 2017).

Autoregressiveness comes from masks built from degrees (Germain et al. 2015): input j has
degree j + 1, a hidden unit of degree d sees the inputs and hidden units of degree <= d, and the
output of degree i + 1 sees the hidden units of degree < i + 1, so only inputs x_<i reach it.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from cvae_jax.models.mlp import activation_fn


class MaskedDense(nn.Module):
    """nn.Dense whose kernel is multiplied by a fixed 0/1 mask [in, features] given at call time.

    The mask is a numpy constant, not a parameter: masked weights are exact zeros in every
    forward pass, so the autoregressive property holds exactly, whatever the optimiser does.
    """

    features: int
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    bias_init: nn.initializers.Initializer = nn.initializers.zeros

    @nn.compact
    def __call__(self, x, mask: np.ndarray):
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features))
        bias = self.param("bias", self.bias_init, (self.features,))
        return x @ jnp.where(mask, kernel, 0) + bias  # [..., features]; masked weights are 0


def hidden_degrees(width: int, event_size: int) -> np.ndarray:
    """Degrees 1..max(D - 1, 1) cycled over `width` units: deterministic, every degree used."""
    return np.arange(width) % max(event_size - 1, 1) + 1  # [width]


class MADE(nn.Module):
    """Masked autoencoder: outputs (shift [..., D], log_scale [..., D]), output i depending only on
    x_<i (strictly autoregressive in the natural order 0..D-1), and freely on an optional context.

    The context enters every hidden layer through an unmasked dense layer added to the
    pre-activation, and each head through another: without the latter, output 0 (and every output
    when D = 1) could not depend on the context, since no hidden unit reaches it.
    """

    hidden: Sequence[int] = (64,)
    activation: str = "relu"  # a jax.nn name
    zero_init_last: bool = True  # heads start at zero, so the flow starts as the identity

    @nn.compact
    def __call__(self, x, context=None):  # x [..., D], context [..., H] or None
        act = activation_fn(self.activation)
        D = x.shape[-1]
        degrees = np.arange(1, D + 1)  # inputs: 1..D
        h = x
        for i, width in enumerate(self.hidden):
            hidden = hidden_degrees(width, D)
            # A unit sees the units below of degree <= its own.
            mask = hidden[None, :] >= degrees[:, None]  # [in, width]
            pre = MaskedDense(width, name=f"MaskedDense_{i}")(h, mask)  # [..., width]
            if context is not None:
                pre = pre + nn.Dense(width, use_bias=False, name=f"context_{i}")(context)
            h, degrees = act(pre), hidden

        # Output degrees 1..D with a strict inequality: output i sees only inputs x_<i.
        out_mask = np.arange(1, D + 1)[None, :] > degrees[:, None]  # [in, D]
        init = nn.initializers.zeros if self.zero_init_last else nn.initializers.lecun_normal()
        heads = []
        for name in ("shift", "log_scale"):
            out = MaskedDense(D, kernel_init=init, name=name)(h, out_mask)  # [..., D]
            if context is not None:
                out = out + nn.Dense(D, use_bias=False, kernel_init=init, name=f"{name}_context")(
                    context
                )
            heads.append(out)
        shift, log_scale = heads
        return shift, log_scale
