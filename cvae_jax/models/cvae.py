"""The CVAE module: an encoder, a decoder and a prior, tied together (Beckham; Sohn et al. 2015).

`__call__` returns the per-example ELBO terms the objective reduces; the methods give the
inference path (encode), the generative path (prior_params, prior_sample, decode).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from cvae_jax.core import distributions as dist


class CVAE(nn.Module):
    """Ties an encoder, decoder and prior together and returns per-example ELBO terms."""

    encoder: nn.Module
    decoder: nn.Module
    prior: nn.Module
    num_classes: int = 0  # > 0: y holds integer labels, one-hot encoded; 0: y is a float vector
    # Also return the GSNN term of Sohn et al.'s hybrid objective: -log p(x|z,c), z ~ p(z|c).
    gsnn_term: bool = False

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

    def prior_sample(self, y, key, num_samples: int | None = None):
        """z ~ p(z|y): [B, Dz], or [K, B, Dz] with num_samples = K."""
        mean_p, log_var_p = self.prior(self.condition(y))
        if num_samples is not None:
            mean_p = jnp.broadcast_to(mean_p, (num_samples, *mean_p.shape))
        return dist.reparameterize(key, mean_p, log_var_p)

    def __call__(self, x, y, key):
        """Per-example terms of the beta-ELBO on a batch; nothing is averaged here."""
        c = self.condition(y)
        mean_q, log_var_q = self.encoder(x, c)  # [B, Dz] each
        z = dist.reparameterize(key, mean_q, log_var_q)
        decoded = self.decoder(z, c)
        mean_p, log_var_p = self.prior(c)
        terms = {
            "distortion": -dist.decoder_log_prob(x, decoded),  # [B]
            "rate_per_dim": dist.gaussian_kl_per_dim(
                mean_q, log_var_q, mean_p, log_var_p
            ),  # [B, Dz]
            "reconstruction": dist.decoder_mean(decoded),  # [B, D]
        }
        if self.gsnn_term:
            # Its own key (folded in), so the cVAE terms draw the same z with or without it.
            z_prior = dist.reparameterize(jax.random.fold_in(key, 1), mean_p, log_var_p)
            terms["gsnn_distortion"] = -dist.decoder_log_prob(x, self.decoder(z_prior, c))  # [B]
        return terms


class BinarizedCVAE(CVAE):
    """Trains on x ~ Bernoulli(pixels) drawn afresh each step (dynamic binarisation).

    The binarisation key is split from the step's own key, so the draws depend only on
    (seed, step) and a resumed or vmapped run sees the same ones. Evaluation methods
    (encode, decode, prior_params) see x unchanged.
    """

    def __call__(self, x, y, key):
        binarize_key, sample_key = jax.random.split(key)
        x = jax.random.bernoulli(binarize_key, x).astype(x.dtype)
        return super().__call__(x, y, sample_key)


def binarized(model: CVAE) -> BinarizedCVAE:
    """The same modules, trained with dynamic binarisation (`data.binarize='dynamic'`)."""
    return BinarizedCVAE(
        model.encoder, model.decoder, model.prior, model.num_classes, model.gsnn_term
    )
