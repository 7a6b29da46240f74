"""Diagnostics of a trained cVAE, each a pure function of arrays (so they vmap over a sweep).

The rate split follows Beckham eq. 10e/10f/14f. With the aggregate posteriors
q(z) = 1/N sum_n q(z|x_n,y_n) and q(z|y) = 1/N_y sum_{n: y_n=y} q(z|x_n,y_n), and one
z_n ~ q(z|x_n,y_n) per example, the per-example rate splits exactly (sample by sample) as

  E KL(q(z|x,y) || p(z|y)) = I(Z; X,Y) + KL(q(z|y) || p(z|y)) - I(Z; Y)      (14f)
                           = I(Z; X,Y) + KL(q(z) || p(z|y)) + const            (10e, 10f)

so the Monte Carlo parts add up to the Monte Carlo estimate of the rate. q(z) and q(z|y)
are the exact aggregate posteriors of the evaluation set (each z_n's own component
included, as in Hoffman & Johnson's "ELBO surgery"), so the mutual informations are those
of the empirical data distribution: I(Z; X,Y) <= log N, and for very narrow posteriors
they sit above the population values (by up to log(N / N_y) for I(Z; Y)). Leaving z_n's
own component out instead biases them downwards, below zero; use a larger N to tighten.
For conditional priors the 10e term E[log q(z) - log p(z|y)] is not a KL between two
distributions and can be negative: it equals KL(q(z|y) || p(z|y)) - I(Z; Y).
"""

import jax
import jax.numpy as jnp

from cvae_jax.core import latents


def _masked_log_mean_exp(log_p, mask):
    """log (1/|mask|) sum_{n in mask} exp(log_p[:, n]) per row."""
    log_p = jnp.where(mask, log_p, -jnp.inf)
    return jax.nn.logsumexp(log_p, axis=-1) - jnp.log(jnp.sum(mask, axis=-1))


def rate_split(key, q, p, labels):
    """Mutual-information decomposition of the rate (module docstring), in nats.

    Args:
      key: PRNG key for one z per example.
      q: the posteriors q(z | x_n, y_n), a distribution with batch [N].
      p: the priors p(z | y_n) for each example, a distribution with batch [N].
      labels: integer class of each example [N].
    Returns:
      dict of scalars: rate (mean KL: closed form where it exists, `latents.rate_groups`),
      mi_zxy, mi_zy, kl_conditional (KL(q(z|y) || p(z|y)) averaged over y) and
      kl_aggregate (E log q(z) - log p(z|y)).
    """
    z, log_q_own = q.sample_and_log_prob(seed=key)  # [N, Dz]; log q(z_n | x_n, y_n) [N]
    log_q_pairs = latents.pairwise_log_prob(q, z)  # [N, N]
    log_q_marginal = jax.nn.logsumexp(log_q_pairs, axis=-1) - jnp.log(z.shape[0])
    same_label = labels[:, None] == labels[None, :]
    log_q_given_y = _masked_log_mean_exp(log_q_pairs, same_label)
    log_prior = p.log_prob(z)
    return {
        "rate": jnp.mean(jnp.sum(latents.rate_groups(q, p, z, log_q_own), -1)),
        "mi_zxy": jnp.mean(log_q_own - log_q_marginal),
        "mi_zy": jnp.mean(log_q_given_y - log_q_marginal),
        "kl_conditional": jnp.mean(log_q_given_y - log_prior),
        "kl_aggregate": jnp.mean(log_q_marginal - log_prior),
    }


def squared_error(x, x_hat):
    """Squared L2 distance per example [N] (the blog's reconstruction error, averaged later)."""
    return jnp.sum(jnp.square(x - x_hat), axis=-1)


def active_units(centres, threshold: float = 0.01):
    """Number of latent dimensions whose posterior centre varies over the data (Burda et al.
    2016: Cov_x E_q[z_u] > 0.01); `centres` [N, Dz] are `latents.centre(q)`."""
    return jnp.sum(jnp.var(centres, axis=0) > threshold)


def swap_labels(labels, num_classes: int):
    """The label each example is swapped to: 1 - y for two classes, y + 1 mod C in general."""
    return (labels + 1) % num_classes


def label_accuracy(predicted, requested):
    """Fraction of samples a classifier assigns to the label they were generated for."""
    return jnp.mean(predicted == requested)
