"""The posterior families q(z|x,c) by name (`model.posterior`).

A posterior module maps the encoder's diagonal Gaussian q0 (and its context vector, when the
posterior asks for one through `context_dim`) to q(z|x,c). `gaussian` is q0 itself, the
diagonal Gaussian of Kingma & Welling (2014); `iaf` (in `flows.py`) transforms it with
inverse autoregressive flow steps (Kingma et al. 2016).
"""

from cvae_jax.models.registry import POSTERIORS


@POSTERIORS.register("gaussian")
def _gaussian(model_config):
    return None  # the encoder's q0: no module, no parameters
