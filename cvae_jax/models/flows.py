"""Flow families: the IAF posterior (`model.posterior='iaf'`) and the autoregressive-flow
prior of VLAE (`model.prior='flow'`).

- `iaf`: q(z|x,c) is the encoder's diagonal Gaussian q0 pushed through `model.flow_steps`
  inverse autoregressive steps z_t = z_{t-1} * exp(s_t) + m_t, (m_t, s_t) = MADE_t(z_{t-1}, h)
  (Kingma et al. 2016, eq. 10), every other step autoregressive in the reversed order. The encoder's context
  vector h (its size: the first `model.flow_hidden` width) feeds every step, as in Kingma et
  al. A draw and its log-density take one pass per step; the log-density of any other z
  (the rate split, the IWAE bound) inverts each step in D passes.
- `flow`: p(z|c) is N(0, I) pushed through the inverse of such steps, so that its density
  takes one pass per step: the autoregressive-flow prior of Chen et al. (2017), who show it
  is equivalent to an IAF posterior on the encoder path. The condition c is the MADEs'
  context (a conditional flow prior); without one the prior is unconditional.

Both start as the identity (the MADEs' heads start at zero), and bound log-scales to
(-LOG_SCALE_BOUND, LOG_SCALE_BOUND) by a scaled tanh, which is the identity near zero.
"""

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax.numpy as jnp

from cvae_jax.core.bijectors import AutoregressiveAffine
from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.models.made import MADE
from cvae_jax.models.pure import pure
from cvae_jax.models.registry import POSTERIORS, PRIORS

# The base model keys both flow families read (the registry entries declare them).
FLOW_KEYS = ("flow_steps", "flow_hidden")
LOG_SCALE_BOUND = 3.0


def _step(made: MADE, event_size: int, context, dtype, reverse: bool) -> AutoregressiveAffine:
    """One autoregressive affine step whose MADE is a pure function of its parameters.

    With `reverse`, the MADE reads z backwards, so the step is autoregressive in the order
    D-1..0: alternating orders let every coordinate depend on every other after two steps,
    without permuting z itself (zero heads then give the identity, whatever the step count).
    """
    example_context = None if context is None else context[:1]
    made_fn = pure(made, jnp.zeros((1, event_size), dtype), example_context)
    flip = (lambda a: a[..., ::-1]) if reverse else (lambda a: a)

    def params_fn(z):
        shift, raw = made_fn(flip(z), context)
        return flip(shift), flip(LOG_SCALE_BOUND * jnp.tanh(raw / LOG_SCALE_BOUND))

    return AutoregressiveAffine(params_fn, event_size)


def autoregressive_chain(parent: nn.Module, event_size: int, context, dtype) -> distrax.Chain:
    """`parent.flow_steps` steps applied in order (distrax.Chain applies its last first)."""
    steps = [
        _step(
            MADE(tuple(parent.hidden), parent.activation, name=f"made_{t}"),
            event_size,
            context,
            dtype,
            reverse=bool(t % 2),
        )  # fmt: skip
        for t in range(parent.flow_steps)
    ]
    return distrax.Chain(steps[::-1])


class IAFPosterior(nn.Module):
    """q(z|x,c) = q0 pushed through inverse autoregressive flow steps (module docstring)."""

    flow_steps: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @property
    def context_dim(self) -> int:
        return int(self.hidden[0])

    @nn.compact
    def __call__(self, q0, context):
        chain = autoregressive_chain(self, q0.event_shape[0], context, q0.loc.dtype)
        return distrax.Transformed(q0, chain)


class FlowPrior(nn.Module):
    """p(z|c) = N(0, I) through the inverse of autoregressive steps (VLAE; module docstring)."""

    latent_dim: int
    flow_steps: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, c):
        zeros = jnp.zeros((*c.shape[:-1], self.latent_dim), c.dtype)
        context = c if c.shape[-1] else None
        chain = autoregressive_chain(self, self.latent_dim, context, c.dtype)
        return distrax.Transformed(DiagonalGaussian(zeros, zeros), distrax.Inverse(chain))


@POSTERIORS.register("iaf", config_keys=FLOW_KEYS)
def _iaf(model_config):
    return IAFPosterior(
        int(model_config.flow_steps), tuple(model_config.flow_hidden), model_config.activation
    )


@PRIORS.register("flow", config_keys=FLOW_KEYS)
def _flow(model_config, num_classes: int):
    return FlowPrior(
        model_config.latent_dim,
        int(model_config.flow_steps),
        tuple(model_config.flow_hidden),
        model_config.activation,
    )
