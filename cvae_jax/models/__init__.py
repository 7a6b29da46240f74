"""Flax modules of the cVAE and the tables that name them (model.kind, model.prior)."""

# Importing the modules registers their model kinds and priors.
from cvae_jax.models import classifier, conv, linear, mlp, priors  # noqa: F401
from cvae_jax.models.cvae import CVAE, BinarizedCVAE
from cvae_jax.models.registry import MODELS, PRIORS, build_model, build_prior

__all__ = ["CVAE", "BinarizedCVAE", "MODELS", "PRIORS", "build_model", "build_prior"]
