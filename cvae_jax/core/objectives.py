"""The beta-weighted cVAE objective and its constraint-style variants (free bits, capacity).

The model returns per-example terms (distortion = -log p(x|z,y) [B], rate per latent
dimension = KL(q(z|x,y) || p(z|y)) [B, Dz]); `loss` is the one place they are reduced.
Every swept quantity (beta, free bits lambda, capacity C and its gamma) is an array in
`hyper`, so a sweep vmaps over it and compiles once.
"""

import jax.numpy as jnp
import optax

from cvae_jax import checks

# The plain beta-ELBO: free bits and capacity switched off by their zero values.
DEFAULT_HYPER = {"beta": 1.0, "free_bits": 0.0, "capacity": 0.0, "capacity_gamma": 0.0}


def rate_with_free_bits(rate_per_dim, free_bits, num_groups: int = 1):
    """sum_j max(lambda, E_batch[KL_j]) over `num_groups` groups of latent dimensions.

    Kingma et al. (2016): the threshold applies to the minibatch-mean KL of each
    group, so a group is never pushed below lambda nats. lambda = 0 gives the mean rate.
    """
    kl_per_dim = jnp.mean(rate_per_dim, axis=0)  # [Dz]
    checks.free_bits_groups(num_groups, kl_per_dim.shape[-1])
    kl_per_group = kl_per_dim.reshape(num_groups, -1).sum(-1)  # [G]
    return jnp.sum(jnp.maximum(free_bits, kl_per_group))


def loss_and_metrics(terms, hyper, kl_weight=1.0, free_bits_groups: int = 1):
    """mean(distortion) + kl_weight * beta * rate_fb + gamma * |mean(rate) - C|.

    Args:
      terms: the model's per-example outputs ('distortion' [B], 'rate_per_dim' [B, Dz]).
      hyper: dict of scalar arrays with the keys of DEFAULT_HYPER.
      kl_weight: the KL-annealing multiplier at this step (an optax schedule's value).
      free_bits_groups: how many groups the latent dimensions are split into for free bits.
    Returns:
      (scalar loss, dict of scalar metrics).
    """
    distortion = jnp.mean(terms["distortion"])
    rate_per_example = jnp.sum(terms["rate_per_dim"], axis=-1)  # [B]
    rate = jnp.mean(rate_per_example)
    penalised_rate = rate_with_free_bits(
        terms["rate_per_dim"], hyper["free_bits"], free_bits_groups
    )
    capacity_term = hyper["capacity_gamma"] * jnp.abs(rate - hyper["capacity"])  # Burgess et al.
    loss = distortion + kl_weight * hyper["beta"] * penalised_rate + capacity_term
    metrics = {"loss": loss, "distortion": distortion, "rate": rate, "elbo": -(distortion + rate)}
    return loss, metrics


def kl_schedule(warmup_steps: int) -> optax.Schedule:
    """KL annealing (Bowman et al. 2016): a weight on beta rising linearly from 0 to 1."""
    if warmup_steps <= 0:
        return optax.constant_schedule(1.0)
    return optax.linear_schedule(0.0, 1.0, warmup_steps)
