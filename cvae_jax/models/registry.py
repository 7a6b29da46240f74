"""The model kinds, priors and posteriors by name: `model.kind`, `model.prior` and
`model.posterior` select one each.

A new family is one `@PRIORS.register(name)` / `@POSTERIORS.register(name)` /
`@MODELS.register(name)` where it is defined (in the library: and an import in
`models/__init__.py`; a user's own: their module, loaded with a launcher's `--import`);
config validation reads these tables, including each entry's `config_keys`.
"""

import inspect

from cvae_jax.errors import ContractError
from cvae_jax.models.cvae import CVAE, binarized
from cvae_jax.registry import Registry

# name -> build(model_config, num_classes[, input_dim]) -> flax prior module p(z|c)
PRIORS = Registry("model.prior")
# name -> build(model_config) -> flax module (q0, context) -> q(z|x,c), or None (q0 itself)
POSTERIORS = Registry("model.posterior")
# name -> build(config, data) -> CVAE sized from the data; config_keys: its extra model keys
MODELS = Registry("model.kind")
# name -> build(model_config, output_dim) -> flax decoder p(x|z,c) of the MLP model kinds
DECODERS = Registry("model.decoder")


def build_prior(model_config, num_classes: int, input_dim: int | None = None):
    """The prior named by `model_config.prior`; builders that take `input_dim` get it."""
    build = PRIORS.get(model_config.prior).build
    if "input_dim" in inspect.signature(build).parameters:
        return build(model_config, num_classes, input_dim=input_dim)
    return build(model_config, num_classes)


def build_decoder(model_config, output_dim: int):
    """The decoder named by `model_config.decoder` ('factorised' by default)."""
    return DECODERS.get(model_config.get("decoder", "factorised")).build(model_config, output_dim)


def build_posterior(model_config):
    """The posterior module named by `model_config.posterior` (None for the encoder's q0)."""
    return POSTERIORS.get(model_config.get("posterior", "gaussian")).build(model_config)


def uses_hybrid_objective(config) -> bool:
    """Whether any member weights the GSNN term (hybrid_alpha < 1), so the model returns it."""
    alphas = {config.objective.get("hybrid_alpha", 1.0)}
    alphas |= set(config.sweep.get("grid", {}).get("hybrid_alpha", ()))
    return any(a != 1.0 for a in alphas)


def build_model(config, data):
    """The cVAE named by `config.model.kind`, sized from `data` (a Dataset)."""
    model = MODELS.get(config.model.kind).build(config, data)
    if not isinstance(model, CVAE):
        raise ContractError(
            f"model.kind={config.model.kind!r}: its builder returned {type(model).__name__}; "
            "it must return a cvae_jax.CVAE (encoder, decoder, prior) sized from the data."
        )
    if uses_hybrid_objective(config):
        model = model.clone(gsnn_term=True)
    if config.objective.get("iwae_samples", 1) > 1:
        model = model.clone(iwae_samples=int(config.objective.iwae_samples))
    if config.data.get("binarize", "none") == "dynamic":
        return binarized(model)
    return model
