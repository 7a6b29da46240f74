"""Latent distributions as objects: q(z|x,c) and p(z|c) are distrax distributions.

Encoders return q(z|x,c) and priors return p(z|c) as `distrax.Distribution`s with a batch
shape [B] and an event [Dz]; code that needs a density calls `log_prob`, code that needs a
draw calls `sample` (or `sample_and_log_prob`) with an explicit key. Only the diagonal
Gaussian family below knows about means and log-variances. Two choices are made here, in
one place, so the objective, the estimators and the diagnostics never branch on a family:

- `rate_groups`: KL(q || p) in closed form per latent dimension when both are diagonal
  Gaussians (bitwise the formula of `distributions.gaussian_kl_per_dim`), per stochastic
  layer for hierarchies (`log_prob_parts`), else the one-sample Monte Carlo estimate
  log q(z|x,c) - log p(z|c) at the reparameterised draw z (Kingma & Welling 2014, eq. 6).
- `centre`: a deterministic point of q (its mean where that is closed form, the image of the
  base distribution's centre under a flow), for label swaps and active units.
"""

import distrax
import jax
import jax.numpy as jnp

from cvae_jax.core import distributions as dist


class DiagonalGaussian(distrax.MultivariateNormalDiag):
    """N(mean, diag(exp(log_var))), parameterised by its log-variance.

    Sampling and log_prob use `distributions.reparameterize` / `gaussian_log_prob`, the
    same operations as the (mean, log_var) functions, so numbers are bitwise those.
    """

    def __init__(self, mean, log_var):
        mean, log_var = jnp.broadcast_arrays(mean, log_var)
        super().__init__(loc=mean, scale_diag=jnp.exp(0.5 * log_var))
        self.log_var = log_var

    def sample(self, *, seed, sample_shape=()):
        if sample_shape == ():  # one draw per batch member: the exact ops of reparameterize
            return dist.reparameterize(seed, self.loc, self.log_var)
        return super().sample(seed=seed, sample_shape=sample_shape)

    def sample_and_log_prob(self, *, seed, sample_shape=()):
        if sample_shape == ():
            z = self.sample(seed=seed)
            return z, self.log_prob(z)
        return super().sample_and_log_prob(seed=seed, sample_shape=sample_shape)

    def _sample_n(self, key, n: int):
        mean = jnp.broadcast_to(self.loc, (n, *self.loc.shape))
        return dist.reparameterize(key, mean, self.log_var)

    def _sample_n_and_log_prob(self, key, n: int):
        z = self._sample_n(key, n)
        return z, self.log_prob(z)

    def log_prob(self, value):
        return dist.gaussian_log_prob(value, self.loc, self.log_var)

    def centre(self):
        return self.loc


def is_diagonal_gaussian(d) -> bool:
    return isinstance(d, DiagonalGaussian)


def rate_groups(q, p, z, log_q=None):
    """KL(q(z|x,c) || p(z|c)) per example and group [B, G] (module docstring).

    z: the reparameterised draw from q [B, Dz]; log_q: log q(z) if already known (a flow
    gives it with the draw, saving its inverse pass).
    """
    if rate_is_closed_form(q, p):
        return dist.gaussian_kl_per_dim(q.loc, q.log_var, p.loc, p.log_var)  # [B, Dz]
    if hasattr(q, "log_prob_parts") and hasattr(p, "log_prob_parts"):
        return q.log_prob_parts(z) - p.log_prob_parts(z)  # [B, L]: one group per layer
    log_q = q.log_prob(z) if log_q is None else log_q
    return (log_q - p.log_prob(z))[..., None]  # [B, 1]


def rate_is_closed_form(q, p) -> bool:
    """Whether `rate_groups` is exact (True) or a one-sample Monte Carlo estimate."""
    return is_diagonal_gaussian(q) and is_diagonal_gaussian(p)


def centre(q):
    """A deterministic latent [B, Dz] standing for q: see the module docstring."""
    if hasattr(q, "centre"):
        return q.centre()
    if isinstance(q, distrax.Transformed):
        return q.bijector.forward(centre(q.distribution))
    return q.mean()


def first(d, n: int, recompute):
    """The distribution of the first n batch members of `d`: the Gaussian family's parameters
    sliced (the same numbers as before slicing), any other family `recompute()`d on the first
    n inputs (a flow's or a hierarchy's per-example context sits in closures that slicing
    would not reach)."""
    if is_diagonal_gaussian(d):
        return DiagonalGaussian(d.loc[:n], d.log_var[:n])
    return recompute()


def pairwise_log_prob(q, z, block: int = 64):
    """log q_n(z_m) for a batch of distributions q [N] and every point z_m of z [M, Dz]: [M, N].

    Gaussians vmap over all M at once (M x N x Dz numbers); other families map over blocks
    of points, so a flow's or a hierarchy's networks never hold M x N activations at once.
    """
    if is_diagonal_gaussian(q):
        return jax.vmap(q.log_prob)(z)
    n = q.batch_shape[0]
    one = lambda z_m: q.log_prob(jnp.broadcast_to(z_m, (n, z_m.shape[-1])))
    return jax.lax.map(one, z, batch_size=min(block, z.shape[0]))
