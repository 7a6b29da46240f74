"""The CVAE module: an encoder, a decoder and a prior, tied together (Beckham; Sohn et al. 2015).

The interface every family follows (a registry entry plus its module):
  encoder(x [B, D], c [B, C]) -> q0(z|x,c), a distrax distribution with batch [B], event [Dz]
                                 (or (q0, context [B, H]) for a posterior that uses a context)
  posterior(q0, context)      -> q(z|x,c) (None: q0 itself, the diagonal Gaussian)
  prior(c [B, C])             -> p(z|c), a distrax distribution; a prior with `uses_encoder`
                                 is called as prior(c, encode) (the VampPrior)
  decoder(z [B, Dz], c)       -> {'logits'} (Bernoulli) or {'mean', 'log_var'} (Gaussian);
                                 a decoder with `uses_x` (autoregressive) is called as
                                 decoder(z, c, x), x the image it scores
`__call__` returns the per-example ELBO terms the objective reduces; the methods give the
inference path (encode), the generative path (prior_distribution, prior_sample, decode).
"""

import dataclasses
import functools

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from cvae_jax.core import distributions as dist
from cvae_jax.core import latents
from cvae_jax.errors import ContractError


def _check_distribution(value, what: str):
    if not isinstance(value, distrax.Distribution):
        raise ContractError(
            f"{what} returned {type(value).__name__}; it must return a distrax distribution "
            "with batch shape [B] and event shape [Dz] (e.g. cvae_jax.DiagonalGaussian(mean, "
            "log_var), distrax.MixtureSameFamily): see docs/design.md, 'Your own family'."
        )
    if len(value.event_shape) != 1:
        raise ContractError(
            f"{what} returned a distribution with event shape {value.event_shape}; it must "
            "have one event axis [Dz] (wrap independent dimensions in distrax.Independent)."
        )
    return value


class CVAE(nn.Module):
    """Ties an encoder, decoder and prior together and returns per-example ELBO terms."""

    encoder: nn.Module
    decoder: nn.Module
    prior: nn.Module
    num_classes: int = 0  # > 0: y holds integer labels, one-hot encoded; 0: y is a float vector
    # Also return the GSNN term of Sohn et al.'s hybrid objective: -log p(x|z,c), z ~ p(z|c).
    gsnn_term: bool = False
    posterior: nn.Module | None = None  # q0 -> q (a flow); None: the encoder's q0
    # k > 1: also return the k importance log weights of the IWAE objective (Burda et al. 2016)
    iwae_samples: int = 1

    def condition(self, y):
        if self.num_classes:
            return jax.nn.one_hot(y, self.num_classes)
        return jnp.asarray(y, jnp.float32).reshape(y.shape[0], -1)

    def _posterior(self, x, c):
        out = self.encoder(x, c)
        q0, context = out if isinstance(out, tuple) else (out, None)
        q0 = _check_distribution(q0, "The encoder")
        if self.posterior is None:
            return q0
        return _check_distribution(self.posterior(q0, context), "The posterior")

    def _prior(self, c):
        if getattr(self.prior, "uses_encoder", False):
            return _check_distribution(self.prior(c, self._posterior), "The prior")
        return _check_distribution(self.prior(c), "The prior")

    def encode(self, x, y):
        """q(z | x, y), a distribution with batch [B]."""
        return self._posterior(x, self.condition(y))

    def _decode(self, z, c, x):
        if reads_x(self):
            return self.decoder(z, c, x)
        return self.decoder(z, c)

    def decode(self, z, y, x=None):
        """p(x|z,y)'s parameters; an autoregressive decoder needs the x it scores."""
        if x is None and reads_x(self):
            raise ContractError(
                "this model's decoder is autoregressive: decode(z, y, x) needs the image x it "
                "scores; draw images with cvae_jax.evaluation.estimators.decode_mean."
            )
        return self._decode(z, self.condition(y), x)

    def prior_distribution(self, y):
        """p(z | y), a distribution with batch [B]."""
        return self._prior(self.condition(y))

    def prior_sample(self, y, key, num_samples: int | None = None):
        """z ~ p(z|y): [B, Dz], or [K, B, Dz] with num_samples = K."""
        p = self._prior(self.condition(y))
        return p.sample(seed=key, sample_shape=() if num_samples is None else (num_samples,))

    def __call__(self, x, y, key):
        """Per-example terms of the beta-ELBO on a batch; nothing is averaged here."""
        c = self.condition(y)
        q = self._posterior(x, c)
        p = self._prior(c)
        if self.iwae_samples > 1:
            terms = self._iwae_terms(x, c, q, p, key)
        else:
            z, log_q = q.sample_and_log_prob(seed=key)  # [B, Dz], [B]
            decoded = self._decode(z, c, x)
            terms = {
                "distortion": -dist.decoder_log_prob(x, decoded),  # [B]
                "rate_groups": latents.rate_groups(q, p, z, log_q),  # [B, G]
                "reconstruction": dist.decoder_mean(decoded),  # [B, D]
            }
        if self.gsnn_term:
            # Its own key (folded in), so the cVAE terms draw the same z with or without it.
            z_prior = p.sample(seed=jax.random.fold_in(key, 1))
            decoded_prior = self._decode(z_prior, c, x)
            terms["gsnn_distortion"] = -dist.decoder_log_prob(x, decoded_prior)  # [B]
        return terms

    def latent_diagnostics(self, x, y) -> dict:
        """A model kind's own scalars on (x, y), reported per member (VQ: codebook usage)."""
        del x, y
        return {}

    def _iwae_terms(self, x, c, q, p, key):
        """k draws z_k ~ q: their log p(x|z_k,c) and log p(z_k|c) - log q(z_k|x,c), [k, B] each."""
        k = self.iwae_samples
        z, log_q = q.sample_and_log_prob(seed=key, sample_shape=(k,))  # [k, B, Dz], [k, B]
        flat = z.reshape(-1, z.shape[-1])  # the decoder sees k * B latents at once
        tiled_x = jnp.tile(x, (k, 1))
        decoded = self._decode(flat, jnp.tile(c, (k, 1)), tiled_x)
        log_lik = dist.decoder_log_prob(tiled_x, decoded).reshape(k, -1)  # [k, B]
        log_ratio = p.log_prob(z) - log_q  # [k, B]
        mean = dist.decoder_mean(decoded).reshape(k, *x.shape)
        return {
            "distortion": -jnp.mean(log_lik, 0),  # [B]
            "rate_groups": -jnp.mean(log_ratio, 0)[:, None],  # [B, 1], Monte Carlo
            "reconstruction": mean[0],  # [B, D]
            "log_likelihood_samples": log_lik,
            "log_ratio_samples": log_ratio,
        }


def reads_x(model) -> bool:
    """Whether `model`'s decoder also reads the image (autoregressive: p(x_i | x_<i, z, c))."""
    return bool(getattr(model.decoder, "uses_x", False))


class DynamicBinarization:
    """Trains on x ~ Bernoulli(pixels) drawn afresh each step (dynamic binarisation).

    A mixin before a CVAE class. The binarisation key is split from the step's own key, so
    the draws depend only on (seed, step) and a resumed or vmapped run sees the same ones.
    Evaluation methods (encode, decode, prior_distribution) see x unchanged.
    """

    def __call__(self, x, y, key, **kwargs):
        binarize_key, sample_key = jax.random.split(key)
        x = jax.random.bernoulli(binarize_key, x).astype(x.dtype)
        return super().__call__(x, y, sample_key, **kwargs)


class BinarizedCVAE(DynamicBinarization, CVAE):
    """The CVAE trained with dynamic binarisation."""


@functools.cache
def _binarized_class(cls):
    if cls is CVAE:
        return BinarizedCVAE
    return type(
        f"Binarized{cls.__name__}", (DynamicBinarization, cls), {"__module__": cls.__module__}
    )


def binarized(model: CVAE) -> CVAE:
    """The same modules, trained with dynamic binarisation (`data.binarize='dynamic'`); any
    CVAE subclass (a model kind's own) keeps its class and fields."""
    fields = [f.name for f in dataclasses.fields(model) if f.name not in ("parent", "name")]
    return _binarized_class(type(model))(**{name: getattr(model, name) for name in fields})
