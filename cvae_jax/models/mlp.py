"""MLP encoder q(z|x,y) and decoder p(x|z,y); the label enters as a one-hot condition c.

The interface every model kind follows (the engine trains any modules that do):
  encoder(x [B, D], c [B, C]) -> q(z|x,c), a `DiagonalGaussian` [B] over [Dz] (with
                                 `context_dim` > 0: and a context [B, H] for a flow)
  decoder(z [B, Dz], c [B, C]) -> {'mean', 'log_var'} (Gaussian) or {'logits'} (Bernoulli)
where c is the condition: the one-hot label for class labels, or a float vector.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import checks
from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.errors import ConfigError
from cvae_jax.models.cvae import CVAE
from cvae_jax.models.registry import (
    DECODERS,
    MODELS,
    build_decoder,
    build_posterior,
    build_prior,
)

LIKELIHOODS = ("gaussian", "bernoulli")
DECODER_VARIANCES = ("fixed", "per_dim", "per_example")


def activation_fn(name: str):
    try:
        return getattr(jax.nn, name)
    except AttributeError:
        raise ConfigError(
            f"model.activation: Unknown activation {name!r}; use a jax.nn name such as 'relu'."
        ) from None


class PartsDense(nn.Module):
    """nn.Dense applied to the concatenation of `parts`, as a sum of one product per part.

    Same parameters as nn.Dense on the concatenated input. Under vmap over some parts only
    (many samples of z, one condition c), the product of an unbatched part is computed once:
    the importance-sampling estimators decode K samples of z against the same observed pixels.
    """

    features: int

    @nn.compact
    def __call__(self, parts):
        sizes = [p.shape[-1] for p in parts]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (sum(sizes), self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        bounds = np.cumsum([0, *sizes])
        products = [p @ kernel[a:b] for p, a, b in zip(parts, bounds[:-1], bounds[1:], strict=True)]
        return sum(products[1:], products[0]) + bias


class MLP(nn.Module):
    """Hidden layers only; heads are added by the modules that use it.

    The input is an array, or a tuple of arrays taken as their concatenation (`PartsDense`).
    """

    hidden: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, h):
        act = activation_fn(self.activation)
        for i, width in enumerate(self.hidden):
            if isinstance(h, tuple):
                h = PartsDense(width, name=f"Dense_{i}")(h)  # nn.Dense's name and parameters
            else:
                h = nn.Dense(width, name=f"Dense_{i}")(h)
            h = act(h)
        return concatenate_parts(h) if isinstance(h, tuple) else h


def concatenate_parts(parts):
    """The parts [..., D_i] joined on the last axis, their leading (sample) axes broadcast."""
    lead = jnp.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return jnp.concatenate([jnp.broadcast_to(p, (*lead, p.shape[-1])) for p in parts], axis=-1)


class MLPEncoder(nn.Module):
    """q(z | x, y): the label enters as a one-hot concatenated to x (or is ignored)."""

    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"
    use_condition: bool = True  # False gives q(z|x), allowed when z and y are independent
    context_dim: int = 0  # > 0: also a context vector for a flow posterior (Kingma et al. 2016)

    @nn.compact
    def __call__(self, x, c):
        h = jnp.concatenate([x, c], axis=-1) if self.use_condition else x
        h = MLP(self.hidden, self.activation)(h)
        return gaussian_head(self, h)


def gaussian_head(module: nn.Module, h):
    """q0 = N(mean(h), exp(log_var(h))), and the context of a flow when the encoder has one."""
    mean = nn.Dense(module.latent_dim, name="mean")(h)
    q0 = DiagonalGaussian(mean, nn.Dense(module.latent_dim, name="log_var")(h))
    if module.context_dim:
        return q0, nn.Dense(module.context_dim, name="context")(h)
    return q0


class MLPDecoder(nn.Module):
    """p(x | z, y), Gaussian (fixed, per-dimension or per-example variance) or Bernoulli."""

    output_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"
    likelihood: str = "gaussian"  # or 'bernoulli'
    variance: str = "fixed"  # 'fixed', 'per_dim' or 'per_example'; Gaussian only
    fixed_log_var: float = 0.0

    @nn.compact
    def __call__(self, z, c):
        h = MLP(self.hidden, self.activation)((z, c))  # c's product is shared by samples of z
        out = nn.Dense(self.output_dim, name="out")(h)
        if self.likelihood == "bernoulli":
            return {"logits": out}
        return {"mean": out, "log_var": gaussian_log_var(self, h, out.shape)}


def gaussian_log_var(module: nn.Module, h, shape):
    """The decoder's log-variance head for the chosen variance mode (called inside compact)."""
    if module.variance == "fixed":
        return jnp.full(shape, module.fixed_log_var, h.dtype)
    if module.variance == "per_dim":
        log_var = module.param("log_var", nn.initializers.zeros, (shape[-1],))
        return jnp.broadcast_to(log_var, shape)
    if module.variance == "per_example":
        return nn.Dense(shape[-1], name="log_var_head")(h)
    checks.choice("model.decoder_variance", module.variance, DECODER_VARIANCES)


def decoder_options(model_config) -> dict:
    """The likelihood keyword arguments every decoder takes from a `model` section."""
    return {
        "likelihood": model_config.likelihood,
        "variance": model_config.decoder_variance,
        "fixed_log_var": float(np.log(model_config.decoder_fixed_variance)),
    }


@MODELS.register("mlp")
@MODELS.register("image_mlp", config_keys=("conv_channels", "conv_impl"))  # may switch with 'conv'
def build_mlp_cvae(config, data) -> CVAE:
    """The MLP cVAE described by the `model` section, sized from the data."""
    m, num_classes = config.model, config.data.get("num_classes", 0)
    hidden, act = tuple(m.hidden), m.activation
    posterior = build_posterior(m)
    encoder = MLPEncoder(m.latent_dim, hidden, act, m.encoder_uses_label, context_dim(posterior))
    decoder = build_decoder(m, data.x.shape[1])
    prior = build_prior(m, num_classes, data.x.shape[1])
    return CVAE(encoder, decoder, prior, num_classes, posterior=posterior)


@DECODERS.register("factorised")
def factorised_decoder(model_config, output_dim: int) -> "MLPDecoder":
    """p(x|z,c) = prod_i p(x_i|z,c): every pixel from z and c alone (the default)."""
    m = model_config
    return MLPDecoder(output_dim, tuple(m.hidden), m.activation, **decoder_options(m))


def context_dim(posterior) -> int:
    """The context size a posterior asks its encoder for (0: none, or no posterior module)."""
    return int(getattr(posterior, "context_dim", 0) or 0)
