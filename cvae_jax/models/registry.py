"""The model kinds and priors by name: `model.kind` and `model.prior` select one each.

A new prior or model kind is one `@PRIORS.register(name)` / `@MODELS.register(name)` where
it is defined (and an import in `models/__init__.py`); config validation reads these tables.
"""

from cvae_jax.models.cvae import binarized
from cvae_jax.registry import Registry

# name -> build(model_config, num_classes) -> flax prior module p(z|c)
PRIORS = Registry("model.prior")
# name -> build(config, data) -> CVAE sized from the data; config_keys: its extra model keys
MODELS = Registry("model.kind")


def build_prior(model_config, num_classes: int):
    """The prior named by `model_config.prior`."""
    return PRIORS.get(model_config.prior).build(model_config, num_classes)


def uses_hybrid_objective(config) -> bool:
    """Whether any member weights the GSNN term (hybrid_alpha < 1), so the model returns it."""
    alphas = {config.objective.get("hybrid_alpha", 1.0)}
    alphas |= set(config.sweep.get("grid", {}).get("hybrid_alpha", ()))
    return any(a != 1.0 for a in alphas)


def build_model(config, data):
    """The cVAE named by `config.model.kind`, sized from `data` (a Dataset)."""
    model = MODELS.get(config.model.kind).build(config, data)
    if uses_hybrid_objective(config):
        model = model.clone(gsnn_term=True)
    if config.data.get("binarize", "none") == "dynamic":
        return binarized(model)
    return model
