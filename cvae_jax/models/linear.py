"""Linear-Gaussian cVAEs whose optimum or marginal likelihood is known in closed form.

* Le (2018), the Gaussian unknown-mean cVAE with scalar x, z and condition c:
    p_theta(z|c) = N(theta1 + theta2 c, sigma0^2),  p_theta(x|z,c) = N(z, exp(theta3)),
    q_phi(z|x,c) = N(phi1 x + phi2 c + phi3, exp(phi4)).
* Probabilistic PCA (Tipping & Bishop 1999): p(z) = N(0, I), p(x|z) = N(W z + mu, sigma^2 I), with a
  linear-Gaussian encoder; log p(x) = log N(x; mu, W W^T + sigma^2 I) exactly.
They follow the same encoder/decoder/prior interface as the MLPs in `mlp.py`.
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from cvae_jax.core.latents import DiagonalGaussian
from cvae_jax.models.cvae import CVAE
from cvae_jax.models.priors import StandardPrior
from cvae_jax.models.registry import MODELS

_zeros = nn.initializers.zeros


class LeEncoder(nn.Module):
    """q_phi(z | x, c) = N(phi1 x + phi2 c + phi3, exp(phi4))."""

    @nn.compact
    def __call__(self, x, c):
        phi1, phi2, phi3, phi4 = (self.param(f"phi{i}", _zeros, ()) for i in range(1, 5))
        mean = phi1 * x + phi2 * c + phi3
        return DiagonalGaussian(mean, jnp.full_like(mean, phi4))


class LeDecoder(nn.Module):
    """p_theta(x | z, c) = N(z, exp(theta3))."""

    @nn.compact
    def __call__(self, z, c):
        theta3 = self.param("theta3", _zeros, ())
        return {"mean": z, "log_var": jnp.full_like(z, theta3)}


class LePrior(nn.Module):
    """p_theta(z | c) = N(theta1 + theta2 c, sigma0^2), sigma0 fixed."""

    sigma0: float

    @nn.compact
    def __call__(self, c):
        theta1 = self.param("theta1", _zeros, ())
        theta2 = self.param("theta2", _zeros, ())
        mean = theta1 + theta2 * c
        return DiagonalGaussian(mean, jnp.full_like(mean, 2.0 * np.log(self.sigma0)))


def le_cvae(sigma0: float) -> CVAE:
    return CVAE(LeEncoder(), LeDecoder(), LePrior(sigma0), num_classes=0)


@MODELS.register("gaussian_mean")
def _build_le_cvae(config, data) -> CVAE:
    return le_cvae(config.data.sigma0)


def le_optimum(mu0: float, sigma0: float, sigma: float) -> dict:
    """theta* and phi* of Le (2018): the exact posterior and the true generative model."""
    precision = 1.0 / sigma0**2 + 1.0 / sigma**2
    return {
        "theta1": mu0,
        "theta2": 1.0,
        "theta3": float(np.log(sigma**2)),
        "phi1": (1.0 / sigma**2) / precision,
        "phi2": (1.0 / sigma0**2) / precision,
        "phi3": (mu0 / sigma0**2) / precision,
        "phi4": float(np.log(1.0 / precision)),
    }


def le_parameters(params) -> dict:
    """The seven scalars of a trained Gaussian unknown-mean cVAE, by name."""
    p = params["params"]
    out = {k: float(p["encoder"][k]) for k in ("phi1", "phi2", "phi3", "phi4")}
    out["theta3"] = float(p["decoder"]["theta3"])
    out.update({k: float(p["prior"][k]) for k in ("theta1", "theta2")})
    return out


class LinearEncoder(nn.Module):
    """q(z | x) = N(A x + b, diag(exp(log_var))): amortised, linear, ignores the condition."""

    latent_dim: int

    @nn.compact
    def __call__(self, x, c):
        mean = nn.Dense(self.latent_dim, name="mean")(x)
        log_var = self.param("log_var", _zeros, (self.latent_dim,))
        return DiagonalGaussian(mean, jnp.broadcast_to(log_var, mean.shape))


class PPCADecoder(nn.Module):
    """p(x | z) = N(W z + mu, sigma^2 I)."""

    output_dim: int

    @nn.compact
    def __call__(self, z, c):
        mean = nn.Dense(self.output_dim, name="linear")(z)  # kernel W^T, bias mu
        log_sigma2 = self.param("log_sigma2", _zeros, ())
        return {"mean": mean, "log_var": jnp.full_like(mean, log_sigma2)}


def ppca_cvae(data_dim: int, latent_dim: int) -> CVAE:
    return CVAE(LinearEncoder(latent_dim), PPCADecoder(data_dim), StandardPrior(latent_dim))


def ppca_log_marginal(x, W, mu, sigma2):
    """Exact log p(x) = log N(x; mu, W W^T + sigma^2 I) per example; W is [D, Dz]."""
    cov = W @ W.T + sigma2 * jnp.eye(W.shape[0])
    chol = jnp.linalg.cholesky(cov)
    diff = jnp.linalg.solve(chol, (x - mu).T).T  # whitened residuals [B, D]
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
    return -0.5 * (jnp.sum(diff**2, -1) + log_det + W.shape[0] * jnp.log(2 * jnp.pi))


def ppca_exact_posterior(W, mu, sigma2):
    """(A, b, log_var) of p(z|x) = N(M^-1 W^T (x - mu), sigma^2 M^-1), M = W^T W + sigma^2 I.

    Diagonal only when W has orthogonal columns, which is when a diagonal encoder can match it.
    """
    M = W.T @ W + sigma2 * jnp.eye(W.shape[1])
    A = jnp.linalg.solve(M, W.T)  # [Dz, D]
    return A, -A @ mu, jnp.log(sigma2 * jnp.diag(jnp.linalg.inv(M)))


def beta_ppca_optimum(eigenvalues, latent_dim: int, beta: float, noise_var: float) -> dict:
    """Rate and distortion (nats per example) at the optimum of a linear beta-VAE.

    Decoder N(W z + mu, noise_var I) with the variance fixed, Gaussian encoder, p(z) = N(0, I),
    data covariance with `eigenvalues`. Dividing the beta-ELBO by beta leaves the ELBO of
    pPCA with noise variance beta * noise_var, so W keeps the directions whose variance
    exceeds k = beta * noise_var, with w_i^2 = lambda_i - k (Tipping & Bishop 1999; Lucas et
    al. 2019). At that optimum a kept direction costs 0.5 log(lambda_i / k) nats of rate and
    k / (2 noise_var) of distortion; a dropped one costs lambda_i / (2 noise_var).
    """
    lam = np.sort(np.asarray(eigenvalues, np.float64))[::-1]
    k = beta * noise_var
    kept = np.arange(lam.size) < latent_dim
    active = kept & (lam > k)
    rate = np.sum(0.5 * np.log(lam[active] / k))
    unexplained = np.where(active, k, lam) / (2 * noise_var)
    distortion = np.sum(unexplained) + 0.5 * lam.size * np.log(2 * np.pi * noise_var)
    return {"rate": float(rate), "distortion": float(distortion), "active": int(active.sum())}
