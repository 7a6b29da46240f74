"""Mixture priors: a learned mixture of Gaussians and the VampPrior (`model.prior`).

Both answer the "poor prior" limitation of N(0, I): the aggregate posterior q(z) of a trained
VAE is far from a standard normal, and the KL term pulls every q(z|x) towards the prior
(Hoffman & Johnson 2016). A richer prior closes that gap.

- `mog`: p(z) = sum_k pi_k N(z; mu_k, diag(sigma_k^2)), K = `model.prior_components`
  learned components (means spread by N(0, I) at initialisation, unit variances, equal
  weights), independent of the condition.
- `vamp`: the VampPrior of Tomczak & Welling (2018), p(z) = 1/K sum_k q(z | u_k) over K
  learned pseudo-inputs u_k, the encoder's own posteriors. With class labels each
  pseudo-input carries a label (u_k gets label k mod C), and p(z|y) = 1/K_y sum_{k: y_k = y}
  q(z | u_k, y): a conditional VampPrior, whose components of class y are the encoder's
  posteriors of that class's pseudo-inputs. Without a condition it is Tomczak & Welling's.
  `model.pseudo_inputs` says how the u_k are parameterised: 'grey' (start at 0.5 plus
  small noise, move freely in R^D) or 'tomczak' (Tomczak & Welling's code: start at
  N(0.05, 0.01^2), nearly black, and pass through a hardtanh, so every u_k stays an image in
  [0, 1]^D).

Both return a `core.mixtures.SharedGaussianMixture` (components shared by the batch, whose
log density is two matrix products). The rate against a mixture has no closed form;
`core.latents.rate_groups` estimates it by Monte Carlo, log q(z|x,c) - log p(z|c) at the
reparameterised draw.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from cvae_jax.core.mixtures import SharedGaussianMixture
from cvae_jax.errors import ConfigError
from cvae_jax.models.registry import PRIORS

_MASKED = -1e9  # a mixture logit that takes a component out (exp underflows to 0)
# How the VampPrior's pseudo-inputs start and where they may go: name -> (start, clip).
PSEUDO_INPUTS = {"grey": (0.5, False), "tomczak": (0.05, True)}


def _batched(c, array):
    """array [K] broadcast to the batch of the condition c [B, C]: [B, K]."""
    return jnp.broadcast_to(array, (c.shape[0], *array.shape))


class MixturePrior(nn.Module):
    """p(z) = sum_k pi_k N(mu_k, diag(exp(log_var_k))), every parameter learned."""

    num_components: int
    latent_dim: int

    @nn.compact
    def __call__(self, c):
        shape = (self.num_components, self.latent_dim)
        means = self.param("means", nn.initializers.normal(1.0), shape)
        log_vars = self.param("log_vars", nn.initializers.zeros, shape)
        logits = self.param("logits", nn.initializers.zeros, (self.num_components,))
        return SharedGaussianMixture(_batched(c, logits), means, log_vars)


class VampPrior(nn.Module):
    """p(z|y) = mean of q(z | u_k, y_k) over the pseudo-inputs of label y (module docstring)."""

    num_components: int
    input_dim: int
    num_classes: int = 0  # 0: no condition, the unconditional VampPrior
    pseudo_inputs: str = "grey"  # a PSEUDO_INPUTS name
    uses_encoder = True  # the CVAE calls prior(c, encode)

    @nn.compact
    def __call__(self, c, encode):
        # Small noise around the start breaks the symmetry between components.
        start = PSEUDO_INPUTS[self.pseudo_inputs][0]
        u = self.param(
            "pseudo_inputs",
            lambda key, shape: start + 0.01 * jax.random.normal(key, shape),
            (self.num_components, self.input_dim),
        )
        u = pseudo_images(u, self.pseudo_inputs)
        if self.num_classes:
            own_label = jax.nn.one_hot(jnp.arange(self.num_components) % self.num_classes,
                                       self.num_classes)  # fmt: skip  # [K, C]
            logits = jnp.where(c @ own_label.T > 0, 0.0, _MASKED)  # [B, K]: label y's only
        elif c.shape[-1]:
            raise ConfigError(
                "model.prior='vamp' takes integer class labels (data.num_classes > 0) or no "
                f"condition; this data has a float condition of {c.shape[-1]} numbers."
            )
        else:
            own_label = jnp.zeros((self.num_components, 0), c.dtype)
            logits = jnp.zeros((c.shape[0], self.num_components))
        q_u = encode(u, own_label)  # q(z | u_k, y_k), batch [K]
        return SharedGaussianMixture(logits, q_u.loc, q_u.log_var)


def pseudo_images(u, pseudo_inputs: str):
    """The inputs the encoder sees for the parameters `u` [K, D]: with 'tomczak', Tomczak &
    Welling's hardtanh, so a pixel stays in [0, 1] and no gradient pushes it further out."""
    return jnp.clip(u, 0.0, 1.0) if PSEUDO_INPUTS[pseudo_inputs][1] else u


@PRIORS.register("mog", config_keys=("prior_components",))
def _mog(model_config, num_classes: int):
    return MixturePrior(model_config.prior_components, model_config.latent_dim)


@PRIORS.register("vamp", config_keys=("prior_components", "pseudo_inputs"))
def _vamp(model_config, num_classes: int, input_dim: int | None = None):
    if model_config.prior_components < max(num_classes, 1):
        raise ConfigError(
            f"model.prior_components={model_config.prior_components} is fewer than the "
            f"{num_classes} classes; the conditional VampPrior needs at least one "
            "pseudo-input per class."
        )
    if input_dim is None:
        raise ConfigError("model.prior='vamp' needs a model kind that passes its input size.")
    return VampPrior(
        model_config.prior_components, input_dim, num_classes, model_config.pseudo_inputs
    )
