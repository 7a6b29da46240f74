"""Flax modules: encoder q(z|x,y), decoder p(x|z,y) and the four priors p(z) / p(z|y).

The interface the engine trains (any modules that follow it work, see `linear_models.py`):
  encoder(x [B, D], c [B, C]) -> (mean [B, Dz], log_var [B, Dz])
  decoder(z [B, Dz], c [B, C]) -> {'mean', 'log_var'} (Gaussian) or {'logits'} (Bernoulli)
  prior(c [B, C]) -> (mean [B, Dz], log_var [B, Dz])
where c is the condition: the one-hot label for class labels, or a float vector.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax import distributions as dist

PRIORS = ("standard", "fixed_conditional", "learned_conditional", "network")


def activation_fn(name: str):
    try:
        return getattr(jax.nn, name)
    except AttributeError:
        raise ValueError(
            f"Unknown activation {name!r}; use a jax.nn name such as 'relu'."
        ) from None


class MLP(nn.Module):
    """Hidden layers only; heads are added by the modules that use it."""

    hidden: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, h):
        act = activation_fn(self.activation)
        for width in self.hidden:
            h = act(nn.Dense(width)(h))
        return h


class MLPEncoder(nn.Module):
    """q(z | x, y): the label enters as a one-hot concatenated to x (or is ignored)."""

    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"
    use_condition: bool = True  # False gives q(z|x), allowed when z and y are independent

    @nn.compact
    def __call__(self, x, c):
        h = jnp.concatenate([x, c], axis=-1) if self.use_condition else x
        h = MLP(self.hidden, self.activation)(h)
        return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="log_var")(
            h
        )


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
        h = MLP(self.hidden, self.activation)(jnp.concatenate([z, c], axis=-1))
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
    raise ValueError(
        f"Unknown decoder variance {module.variance!r}; use 'fixed', 'per_dim' or 'per_example'."
    )


class StandardPrior(nn.Module):
    """p(z) = N(0, I): z independent of y (seed 000 eq. 6)."""

    latent_dim: int

    def __call__(self, c):
        zeros = jnp.zeros(c.shape[:-1] + (self.latent_dim,), c.dtype)
        return zeros, zeros


class FixedConditionalPrior(nn.Module):
    """p(z | y) = N(means[y], diag(exp(log_vars[y]))), chosen a priori (seed 000 sec. 3.2)."""

    means: Sequence[Sequence[float]]
    log_vars: Sequence[Sequence[float]]

    def __call__(self, c):
        means = jnp.asarray(self.means, c.dtype)
        log_vars = jnp.asarray(self.log_vars, c.dtype)
        return c @ means, c @ log_vars  # c is one-hot, so this is a table look-up


class LearnedConditionalPrior(nn.Module):
    """p_theta(z | y): a trainable mean and log-variance per class (the toy's four extra numbers)."""

    num_classes: int
    latent_dim: int

    @nn.compact
    def __call__(self, c):
        shape = (self.num_classes, self.latent_dim)
        means = self.param("means", nn.initializers.normal(1.0), shape)
        log_vars = self.param("log_vars", nn.initializers.zeros, shape)
        return c @ means, c @ log_vars


class PriorNetwork(nn.Module):
    """p_theta(z | c): an MLP from a conditioning input to a Gaussian (seed 003)."""

    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, c):
        h = MLP(self.hidden, self.activation)(c)
        return nn.Dense(self.latent_dim, name="mean")(h), nn.Dense(self.latent_dim, name="log_var")(
            h
        )


class CVAE(nn.Module):
    """Ties an encoder, decoder and prior together and returns per-example ELBO terms."""

    encoder: nn.Module
    decoder: nn.Module
    prior: nn.Module
    num_classes: int = 0  # > 0: y holds integer labels, one-hot encoded; 0: y is a float vector

    def condition(self, y):
        if self.num_classes:
            return jax.nn.one_hot(y, self.num_classes)
        return jnp.asarray(y, jnp.float32).reshape(y.shape[0], -1)

    def encode(self, x, y):
        return self.encoder(x, self.condition(y))

    def decode(self, z, y):
        return self.decoder(z, self.condition(y))

    def prior_params(self, y):
        return self.prior(self.condition(y))

    def __call__(self, x, y, key):
        """Per-example terms of the beta-ELBO on a batch; nothing is averaged here."""
        c = self.condition(y)
        mean_q, log_var_q = self.encoder(x, c)  # [B, Dz] each
        z = dist.reparameterize(key, mean_q, log_var_q)
        decoded = self.decoder(z, c)
        mean_p, log_var_p = self.prior(c)
        return {
            "distortion": -dist.decoder_log_prob(x, decoded),  # [B]
            "rate_per_dim": dist.gaussian_kl_per_dim(
                mean_q, log_var_q, mean_p, log_var_p
            ),  # [B, Dz]
            "reconstruction": dist.decoder_mean(decoded),  # [B, D]
        }


def build_prior(model_config, num_classes: int) -> nn.Module:
    """The prior named by `model_config.prior`, one of PRIORS."""
    name, latent_dim = model_config.prior, model_config.latent_dim
    if name == "standard":
        return StandardPrior(latent_dim)
    if name in ("fixed_conditional", "learned_conditional") and not num_classes:
        raise ValueError(f"prior={name!r} needs integer class labels (num_classes > 0).")
    if name == "fixed_conditional":
        means = np.asarray(model_config.prior_means, np.float32)
        if means.shape != (num_classes, latent_dim):
            raise ValueError(
                f"model.prior_means has shape {means.shape}; fixed_conditional needs one mean "
                f"per class: ({num_classes}, {latent_dim})."
            )
        log_vars = np.broadcast_to(np.asarray(model_config.prior_log_vars, np.float32), means.shape)
        return FixedConditionalPrior(
            tuple(map(tuple, means.tolist())), tuple(map(tuple, log_vars.tolist()))
        )
    if name == "learned_conditional":
        return LearnedConditionalPrior(num_classes, latent_dim)
    if name == "network":
        return PriorNetwork(latent_dim, tuple(model_config.hidden), model_config.activation)
    raise ValueError(f"Unknown prior {name!r}; choose one of {', '.join(PRIORS)}.")


def build_mlp_cvae(model_config, input_dim: int, num_classes: int) -> CVAE:
    """The MLP cVAE described by a `model` config section."""
    hidden, act = tuple(model_config.hidden), model_config.activation
    encoder = MLPEncoder(model_config.latent_dim, hidden, act, model_config.encoder_uses_label)
    decoder = MLPDecoder(
        input_dim,
        hidden,
        act,
        likelihood=model_config.likelihood,
        variance=model_config.decoder_variance,
        fixed_log_var=float(np.log(model_config.decoder_fixed_variance)),
    )
    return CVAE(encoder, decoder, build_prior(model_config, num_classes), num_classes)
