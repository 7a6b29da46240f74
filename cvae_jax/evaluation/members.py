"""The data-independent diagnostics of every member of a sweep, on any labelled data set.

Per member, on the test set: the ELBO and its two terms (distortion, rate), the IWAE bound
on log p(x|y), the mutual-information split of the rate (I(Z;X,Y), I(Z;Y),
KL(q(z|y)||p(z|y)); `core.diagnostics.rate_split`), the active units (Burda et al. 2016),
and, judged by a classifier trained on the data, the accuracy of class-conditional samples
and of label swaps (Beckham sec. 6.4). All members are evaluated in one vmapped, jitted call.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax.core import diagnostics as diag
from cvae_jax.core import latents
from cvae_jax.evaluation import images as image_eval
from cvae_jax.evaluation.estimators import in_batches, iwae_bound, over_members

# name -> what it is, for tables and figure axes
DIAGNOSTICS = {
    "test_elbo": "test ELBO (nats)",
    "test_iwae": "test IWAE bound on log p(x|y) (nats)",
    "test_distortion": "distortion -E log p(x|z,y) (nats)",
    "test_rate": "rate E KL(q(z|x,y)||p(z|y)) (nats)",
    "mi_zxy": "I(Z; X,Y) (nats)",
    "mi_zy": "I(Z; Y) (nats)",
    "kl_conditional": "KL(q(z|y)||p(z|y)) (nats)",
    "active_units": "active units",
    "conditional_accuracy": "classifier accuracy on samples",
    "swap_accuracy": "label-swap accuracy",
}


def _bounds(model, params, x, y, key, num_iwae: int, batch_size: int = 256) -> dict:
    """Per-example distortion, rate and IWAE bound (K = num_iwae), each [N]."""
    elbo_key, iwae_key = jax.random.split(key)

    def one_batch(xb, yb):
        terms = model.apply(params, xb, yb, elbo_key)
        return {
            "distortion": terms["distortion"],
            "rate": jnp.sum(terms["rate_groups"], -1),
            "rate_groups": terms["rate_groups"],
            "iwae": iwae_bound(iwae_key, model, params, xb, yb, num_iwae),
        }

    return in_batches(one_batch, x, y, min(batch_size, x.shape[0]))


def per_layer(q, bounds) -> dict:
    """For a posterior of several stochastic layers (`q.layer_sizes`, a hierarchy): the rate
    and the active units of each layer, bottom-up ([L] each); {} for one layer."""
    sizes = tuple(getattr(q, "layer_sizes", ()))
    if len(sizes) < 2:
        return {}
    centres = jnp.split(latents.centre(q), np.cumsum(sizes)[:-1], axis=-1)
    return {
        "test_rate_per_layer": jnp.mean(bounds["rate_groups"], 0),  # one group per layer
        "active_units_per_layer": jnp.stack([diag.active_units(c) for c in centres]),
    }


class Settings(NamedTuple):
    """The `evaluation` keys this module reads (hashable: part of the compilation cache key)."""

    iwae_samples: int
    mi_examples: int
    samples_per_label: int
    swap_examples: int
    seed: int

    @classmethod
    def of(cls, eval_config) -> "Settings":
        return cls(*(int(eval_config[name]) for name in cls._fields))


def evaluate_member(model, params, test, classify, num_classes: int, e: Settings, key) -> dict:
    """Every diagnostic of one member (scalars), on the test Dataset (integer labels)."""
    bound_key, split_key, sample_key = jax.random.split(key, 3)
    x, y = test.x, test.y
    bounds = _bounds(model, params, x, y, bound_key, e.iwae_samples)
    q = model.apply(params, x, y, method=model.encode)
    p = model.apply(params, y, method=model.prior_distribution)
    n = min(e.mi_examples, x.shape[0])  # the split is O(n^2) in memory
    q_n = latents.first(q, n, lambda: model.apply(params, x[:n], y[:n], method=model.encode))
    p_n = latents.first(p, n, lambda: model.apply(params, y[:n], method=model.prior_distribution))
    split = diag.rate_split(split_key, q_n, p_n, y[:n])
    samples = image_eval.conditional_samples(
        model, params, sample_key, num_classes, e.samples_per_label
    )
    n_swap = min(e.swap_examples, x.shape[0])
    _, swapped = image_eval.swaps(model, params, x[:n_swap], y[:n_swap], num_classes)
    labels = jnp.arange(num_classes)
    hit = classify(swapped) == labels[None, :]  # [B, L]
    other = labels[None, :] != y[:n_swap, None]
    own = model.apply(params, x, y, method=model.latent_diagnostics)  # a kind's own (VQ)
    return (
        per_layer(q, bounds)
        | own
        | {
            "test_elbo": -jnp.mean(bounds["distortion"] + bounds["rate"]),
            "test_iwae": jnp.mean(bounds["iwae"]),
            "test_distortion": jnp.mean(bounds["distortion"]),
            "test_rate": jnp.mean(bounds["rate"]),
            "mi_zxy": split["mi_zxy"],
            "mi_zy": split["mi_zy"],
            "kl_conditional": split["kl_conditional"],
            "active_units": diag.active_units(latents.centre(q)),
            "conditional_accuracy": jnp.mean(classify(samples) == labels[:, None]),
            "swap_accuracy": jnp.sum(hit * other) / jnp.sum(other),
        }
    )


@partial(jax.jit, static_argnames=("model", "classify", "num_classes", "settings"))
def _evaluate_members(params, test, *, model, classify, num_classes, settings):
    key = jax.random.key(settings.seed)

    def member(p):
        return evaluate_member(model, p, test, classify, num_classes, settings, key)

    return over_members(member)(params)


def evaluate_sweep(model, params, test, classify, num_classes: int, eval_config) -> dict:
    """`evaluate_member` for every member (params leaves [S, H, ...]); numpy [S, H] each.

    Every member sees the same evaluation key, so their differences are due to training.
    Compiled once per (model, classifier, shapes): sweeps of the same model (the families
    of the rate-distortion study) share the compilation.
    """
    test = type(test)(jnp.asarray(test.x), jnp.asarray(test.y))
    settings = Settings.of(eval_config)
    out = _evaluate_members(
        params, test, model=model, classify=classify, num_classes=num_classes,
        settings=settings,
    )  # fmt: skip
    out = jax.device_get(out)
    members_shape = np.shape(out["test_elbo"])
    return out | {
        name: np.full(members_shape, used)
        for name, used in examples_used(test.x.shape[0], settings).items()
    }


def examples_used(num_test: int, settings: Settings) -> dict:
    """How many test examples the rate split and the swaps used (columns `mi_examples` and
    `swap_examples`), with a warning when the test set is smaller than asked: the plug-in
    I(Z;Y) of N examples sits above the population value by up to log(N / N_y), so a small
    set reads high (see `core.diagnostics`)."""
    used = {}
    for name in ("mi_examples", "swap_examples"):
        asked = getattr(settings, name)
        used[name] = min(asked, num_test)
        if asked > num_test:
            logging.warning(
                "evaluation.%s=%d but the test set has %d examples: the estimates use %d "
                "(the rows' %s column says so).", name, asked, num_test, num_test, name,
            )  # fmt: skip
    return used
