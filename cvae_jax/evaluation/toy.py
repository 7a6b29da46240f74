"""Evaluate every member of a trained toy sweep at once: diagnostics and samples for figures.

`evaluate_member` is pure in (params, key); `evaluate_sweep` vmaps it over the [S, H]
member grid under one jit, so evaluation has no Python loop over members either.
"""

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from cvae_jax.core import diagnostics as diag
from cvae_jax.core import latents
from cvae_jax.data.dataset import Dataset
from cvae_jax.evaluation.estimators import decode_mean


def evaluate_member(
    model, params, data: Dataset, key, *, num_classes: int, classify: Callable,
    log_density: Callable, num_generated: int,
):  # fmt: skip
    """Diagnostics of one member on `data`, plus the arrays the figures draw.

    classify(x) -> labels and log_density(x, y) -> log p_true(x|y) score samples against the
    true data distribution (for the toy: the Bayes classifier and the true mixture).
    Returns (metrics: dict of scalars / [C] arrays, samples: dict of arrays).
    """
    k_split, k_infer, k_gen = jax.random.split(key, 3)
    x, y = data.x, data.y
    q = model.apply(params, x, y, method=model.encode)
    p = model.apply(params, y, method=model.prior_distribution)
    metrics = diag.rate_split(k_split, q, p, y)

    # Inference path (Beckham eq. 2) and label swap (eq. 13): the same z, decoded with y or y'.
    z = q.sample(seed=k_infer)
    reconstruction = decode_mean(model, params, z, y)
    swapped_to = diag.swap_labels(y, num_classes)
    swapped = decode_mean(model, params, z, swapped_to)

    # Generative path (eq. 3): z ~ p(z|y) for every label, decoded with that label.
    gen_y = jnp.repeat(jnp.arange(num_classes), num_generated)
    gen_z = model.apply(params, gen_y, k_gen, method=model.prior_sample)
    generated = decode_mean(model, params, gen_z, gen_y)
    gen_correct = (classify(generated) == gen_y).reshape(num_classes, num_generated)
    gen_log_density = log_density(generated, gen_y).reshape(num_classes, num_generated)

    metrics |= {
        "recon_error": jnp.mean(diag.squared_error(x, reconstruction)),
        "swap_accuracy": diag.label_accuracy(classify(swapped), swapped_to),
        "gen_accuracy": jnp.mean(gen_correct),
        "gen_log_density": jnp.mean(gen_log_density),
        "gen_accuracy_per_label": jnp.mean(gen_correct, axis=1),  # [C]
        "gen_log_density_per_label": jnp.mean(gen_log_density, axis=1),  # [C]
        "active_units": diag.active_units(latents.centre(q)),
    }
    class_prior = model.apply(params, jnp.arange(num_classes), method=model.prior_distribution)
    samples = {
        "z": z,
        "reconstruction": reconstruction,
        "swapped": swapped,
        "generated": generated,
        "generated_z": gen_z,
        **prior_ellipses(class_prior),
    }
    return metrics, samples


def prior_ellipses(p) -> dict:
    """The class priors' means and log-variances [C, Dz] the latent-space figure draws as
    ellipses: a Gaussian family's own, or NaN for a prior without them (no ellipse drawn)."""
    if latents.is_diagonal_gaussian(p):
        return {"prior_mean": p.loc, "prior_log_var": p.log_var}
    nan = jnp.full(p.batch_shape + p.event_shape, jnp.nan)
    return {"prior_mean": nan, "prior_log_var": nan}


def evaluate_sweep(model, params, data: Dataset, key, **kwargs):
    """evaluate_member for all [S, H] members (params leaves [S, H, ...]) in one call.

    Every member sees the same evaluation key, so their differences are due to training.
    """
    member = partial(evaluate_member, model, data=data, key=key, **kwargs)
    return jax.jit(jax.vmap(jax.vmap(member)))(params)
