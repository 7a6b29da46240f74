"""Does z control anything? Samples with z held fixed, and the share of their variance z explains.

A decoder that models p(x|c) on its own has no use for z (posterior collapse: Bowman et al.
2016; Chen et al. 2017): images drawn with one z then vary as much as images drawn with
different z. For each label, R latents z_r ~ p(z|y) and M images x_rm ~ p(x|z_r, y) per
latent; the z-share is the between-latent share of the pixel variance,

  z_share = 1 - E_r[Var_m(x_rm)] / Var_rm(x_rm),

averaged over labels, both variances unbiased (ddof = 1), so it is 0 in expectation when x
does not depend on z and 1 when z determines x. It reads samples only (no encoder), so it
tells whether the generative path uses z, which the rate (a property of q) does not.
"""

import jax
import jax.numpy as jnp

from cvae_jax.evaluation.estimators import draw_images


def z_share(images):
    """images [L, R, M, D] (label, latent, draw, pixel) -> the z-share (module docstring)."""
    num_labels, num_latents, per_latent, dim = images.shape
    within = jnp.mean(jnp.var(images, axis=2, ddof=1))
    total = jnp.mean(jnp.var(images.reshape(num_labels, -1, dim), axis=1, ddof=1))
    return jnp.where(total > 0, 1.0 - within / jnp.where(total > 0, total, 1.0), 0.0)


def fixed_latent_samples(key, model, params, num_classes: int, num_latents: int, per_latent: int):
    """x ~ p(x | z_r, y) with z_r ~ p(z|y): [L, R, M, D], M draws for each of R latents."""
    latent_key, image_key = jax.random.split(key)
    y = jnp.repeat(jnp.arange(num_classes), num_latents)  # [L * R]
    z = model.apply(params, y, latent_key, method=model.prior_sample)  # [L * R, Dz]
    z, y = jnp.repeat(z, per_latent, axis=0), jnp.repeat(y, per_latent)
    x = draw_images(image_key, model, params, z, y)  # [L * R * M, D]
    return x.reshape(num_classes, num_latents, per_latent, -1)


def z_control(key, model, params, num_classes: int, num_latents: int, per_latent: int) -> dict:
    """One member's {'z_share': scalar, 'fixed_latent_samples': [L, R, M, D]}."""
    images = fixed_latent_samples(key, model, params, num_classes, num_latents, per_latent)
    return {"z_share": z_share(images), "fixed_latent_samples": images}
