"""The beta-weighted cVAE objective and its constraint-style variants (free bits, capacity).

The model returns per-example terms (distortion = -log p(x|z,y) [B], the rate
KL(q(z|x,y) || p(z|y)) in groups [B, G]: per latent dimension in closed form, per stochastic
layer, or one Monte Carlo group; `core.latents.rate_groups`); `loss_and_metrics` is the one
place they are reduced. With k > 1 importance samples the model also returns their log
weights and the loss is the IWAE objective (Burda et al. 2016).
Every hyperparameter of the objective (beta, free bits lambda, capacity C, its gamma and
ramp length, the KL warm-up length, the hybrid weight alpha, the VQ commitment) is an array in `hyper`, and the schedules are computed
from it and the step counter, so a sweep vmaps over all of them and compiles once.
"""

import jax
import jax.numpy as jnp

from cvae_jax import checks

# The plain beta-ELBO: free bits, capacity and annealing switched off by their zero values.
DEFAULT_HYPER = {
    "beta": 1.0,
    "free_bits": 0.0,
    "capacity": 0.0,
    "capacity_gamma": 0.0,
    "capacity_steps": 0.0,
    "kl_warmup_steps": 0.0,
    "hybrid_alpha": 1.0,
    "commitment": 0.25,
}


def linear_ramp(step, num_steps):
    """min(1, step / num_steps), rising linearly from 0; 1 throughout when num_steps <= 0.

    `num_steps` may be traced (a swept value), so this is a select, not a Python branch.
    """
    ramp = jnp.minimum(step / jnp.maximum(num_steps, 1.0), 1.0)
    return jnp.where(num_steps > 0, ramp, 1.0)


def kl_weight(step, warmup_steps):
    """KL annealing (Bowman et al. 2016): the weight on beta rises from 0 to 1 over warm-up."""
    return linear_ramp(step, warmup_steps)


def capacity_target(step, capacity, capacity_steps):
    """Controlled capacity (Burgess et al. 2018): C rises linearly from 0 to C_max."""
    return capacity * linear_ramp(step, capacity_steps)


def rate_with_free_bits(rate_groups, free_bits, num_groups: int = 1):
    """sum_j max(lambda, E_batch[KL_j]) over `num_groups` groups of the rate's groups.

    Kingma et al. (2016): the threshold applies to the minibatch-mean KL of each
    group, so a group is never pushed below lambda nats. lambda = 0 gives the mean rate.
    The model's G groups (latent dimensions, layers or one) are summed into `num_groups`.
    """
    kl_per_group = jnp.mean(rate_groups, axis=0)  # [G]
    checks.free_bits_groups(num_groups, kl_per_group.shape[-1])
    kl_per_group = kl_per_group.reshape(num_groups, -1).sum(-1)  # [num_groups]
    return jnp.sum(jnp.maximum(free_bits, kl_per_group))


def loss_and_metrics(terms, hyper, step=0, free_bits_groups: int = 1):
    """mean(distortion) + w(t) * beta * rate_fb + gamma * |mean(rate) - C(t)|.

    With the model's k importance samples ('log_ratio_samples' [k, B]), the IWAE objective
    instead (`iwae_loss`); free bits and capacity are refused for it by config validation.

    Args:
      terms: the model's per-example outputs ('distortion' [B], 'rate_groups' [B, G]).
      hyper: dict of scalar arrays with the keys of DEFAULT_HYPER.
      step: the optimiser step t, for the KL weight w(t) and the capacity C(t).
      free_bits_groups: how many groups the latent dimensions are split into for free bits.
    Returns:
      (scalar loss, dict of scalar metrics).
    """
    distortion = jnp.mean(terms["distortion"])
    rate_per_example = jnp.sum(terms["rate_groups"], axis=-1)  # [B]
    rate = jnp.mean(rate_per_example)
    penalised_rate = rate_with_free_bits(terms["rate_groups"], hyper["free_bits"], free_bits_groups)
    capacity = capacity_target(step, hyper["capacity"], hyper["capacity_steps"])
    capacity_term = hyper["capacity_gamma"] * jnp.abs(rate - capacity)
    weight = kl_weight(step, hyper["kl_warmup_steps"])
    loss = distortion + weight * hyper["beta"] * penalised_rate + capacity_term
    metrics = {"distortion": distortion, "rate": rate, "elbo": -(distortion + rate)}
    if "log_ratio_samples" in terms:  # k > 1 importance samples: the IWAE objective
        loss = iwae_loss(terms, weight * hyper["beta"])
        metrics["iwae"] = -iwae_loss(terms, 1.0)
    if "vq_commitment" in terms:  # a VQ-VAE: the codebook and commitment terms
        loss = loss + vq_penalty(terms, hyper["commitment"])
        metrics["commitment"] = jnp.mean(terms["vq_commitment"])
    if "gsnn_distortion" in terms:  # the model returns it when some member has alpha < 1
        loss = hybrid_loss(loss, terms["gsnn_distortion"], hyper["hybrid_alpha"])
    return loss, {"loss": loss, **metrics}


def iwae_loss(terms, beta=1.0):
    """-mean_b log (1/k) sum_k exp(log p(x|z_k) + beta (log p(z_k) - log q(z_k|x))).

    beta = 1: the negative IWAE bound of Burda et al. (2016), whose k = 1 is the ELBO with
    a sampled KL. Other beta temper the prior-to-posterior ratio inside each weight, so
    k = 1 is exactly the beta-ELBO of Higgins et al. (2017) with a sampled rate; for beta != 1
    and k > 1 it is our interpolation, not a bound from a paper.
    """
    log_w = terms["log_likelihood_samples"] + beta * terms["log_ratio_samples"]  # [k, B]
    k = log_w.shape[0]
    return -jnp.mean(jax.nn.logsumexp(log_w, axis=0) - jnp.log(k))


def negative_bound(terms):
    """-log p(x|y)'s upper bound per example [B]: the -ELBO (distortion + rate), or with k
    importance samples the -IWAE_k bound. Beta 1 and no free bits or capacity: the number a
    member is selected by on validation data, whatever objective trained it."""
    if "log_ratio_samples" in terms:
        log_w = terms["log_likelihood_samples"] + terms["log_ratio_samples"]  # [k, B]
        return -(jax.nn.logsumexp(log_w, axis=0) - jnp.log(log_w.shape[0]))
    return terms["distortion"] + jnp.sum(terms["rate_groups"], axis=-1)


def vq_penalty(terms, commitment):
    """mean ||sg[z_e] - e||^2 + beta_c mean ||z_e - sg[e]||^2 (van den Oord et al. 2017, eq. 3),
    each summed over the example's code vectors; beta_c may be swept (a traced array)."""
    return jnp.mean(terms["vq_codebook"]) + commitment * jnp.mean(terms["vq_commitment"])


def hybrid_loss(cvae_loss, gsnn_distortion, alpha):
    """Sohn et al. (2015), eq. 8: alpha * cVAE loss + (1 - alpha) * GSNN loss.

    The GSNN loss -log p(x|z,c) with z ~ p(z|c) trains the generation network on the
    latents it sees at test time; it does not involve the recognition network.
    """
    return alpha * cvae_loss + (1.0 - alpha) * jnp.mean(gsnn_distortion)
