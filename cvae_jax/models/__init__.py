"""Flax modules of the cVAE and the tables that name them (model.kind, model.prior)."""

# Importing the modules registers their families. The base priors first: a registry lists
# its names in registration order (error messages, docs).
from cvae_jax.models import posteriors, priors  # noqa: F401

# isort: split
from cvae_jax.models import (  # noqa: F401
    classifier,
    conv,
    flows,
    hierarchical,
    linear,
    masked,
    mixture_priors,
    mlp,
    vq_cvae,
)
from cvae_jax.models.cvae import CVAE, BinarizedCVAE
from cvae_jax.models.registry import (
    DECODERS,
    MODELS,
    POSTERIORS,
    PRIORS,
    build_model,
    build_prior,
)

__all__ = [
    "CVAE",
    "BinarizedCVAE",
    "DECODERS",
    "MODELS",
    "POSTERIORS",
    "PRIORS",
    "build_model",
    "build_prior",
]
