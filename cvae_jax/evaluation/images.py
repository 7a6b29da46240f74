"""Evaluation of a trained image sweep, vmapped over its [S, H] members in one jitted call.

Per member: test ELBO and IWAE estimate of log p(x|y); class-conditional samples from the
prior p(z|y) and the classifier's accuracy on them; style/content swaps (Beckham sec. 6.4,
eq. 12): z = mean of q(z|x1,y1) decoded with every label y', and the classifier's accuracy
at recovering y' (label-swap accuracy, over y' != y1).
"""

import jax
import jax.numpy as jnp

from cvae_jax.core import latents
from cvae_jax.evaluation.estimators import decode_mean, evaluate_members, in_batches, iwae_bound


def test_bounds(model, params, x, y, key, num_iwae: int, batch_size: int = 256) -> dict:
    """Per-example ELBO and IWAE bound (K = num_iwae) on log p(x|y), each [N], plus the MSE."""
    elbo_key, iwae_key = jax.random.split(key)

    def one_batch(xb, yb):
        terms = model.apply(params, xb, yb, elbo_key)
        elbo = -(terms["distortion"] + jnp.sum(terms["rate_groups"], -1))
        iwae = iwae_bound(iwae_key, model, params, xb, yb, num_iwae)
        mse = jnp.mean(jnp.square(terms["reconstruction"] - xb), -1)
        return {"elbo": elbo, "iwae": iwae, "recon_mse": mse}

    return in_batches(one_batch, x, y, min(batch_size, x.shape[0]))


def conditional_samples(model, params, key, num_classes: int, per_label: int):
    """Decoder means for z ~ p(z|y), per_label of them for every label: [L, per_label, D]."""
    y = jnp.repeat(jnp.arange(num_classes), per_label)
    z = model.apply(params, y, key, method=model.prior_sample)
    return decode_mean(model, params, z, y).reshape(num_classes, per_label, -1)


def swaps(model, params, x, y, num_classes: int):
    """Reconstructions [B, D] and style swaps [B, L, D]: the centre of q(z|x,y) (its mean, for
    a Gaussian) decoded with each label."""
    z = latents.centre(model.apply(params, x, y, method=model.encode))
    recon = decode_mean(model, params, z, y)

    def with_label(label):
        return decode_mean(model, params, z, jnp.full_like(y, label))

    swapped = jax.lax.map(with_label, jnp.arange(num_classes))  # [L, B, D]
    return recon, jnp.swapaxes(swapped, 0, 1)


def evaluate_sweep(model, params, test, classify, num_classes: int, eval_config) -> dict:
    """Every metric and figure array of a sweep; arrays are [S, H, ...] (numpy on return).

    Args:
      params: the sweep's parameters, leaves [S, H, ...].
      test: the test Dataset (x [N, D], y [N]).
      classify: images [..., D] -> predicted labels [...] (a jittable closure).
      eval_config: the config's `evaluation` section.
    """
    e = eval_config
    key = jax.random.key(e.seed)
    bound_key, sample_key = jax.random.split(key)
    n_swap = min(e.swap_examples, test.x.shape[0])

    def member(p, x, y):
        bounds = test_bounds(model, p, x, y, bound_key, e.iwae_samples)
        samples = conditional_samples(model, p, sample_key, num_classes, e.samples_per_label)
        labels = jnp.arange(num_classes)[:, None]
        cond_acc = jnp.mean(classify(samples) == labels)
        recon, swapped = swaps(model, p, x[:n_swap], y[:n_swap], num_classes)
        hit = classify(swapped) == labels[:, 0][None, :]  # [B, L]
        other = jnp.arange(num_classes)[None, :] != y[:n_swap, None]
        return {
            "test_elbo": jnp.mean(bounds["elbo"]),
            "test_iwae": jnp.mean(bounds["iwae"]),
            "test_recon_mse": jnp.mean(bounds["recon_mse"]),
            "conditional_accuracy": cond_acc,
            "swap_accuracy": jnp.sum(hit * other) / jnp.sum(other),
            "recon_accuracy": jnp.mean(classify(recon) == y[:n_swap]),
            "sample_grid": samples[:, : e.grid_columns],  # [L, C, D]
            "swap_grid": jnp.concatenate(
                [x[: e.swap_rows, None], recon[: e.swap_rows, None], swapped[: e.swap_rows]], 1
            ),  # [R, 2 + L, D]: input, reconstruction, then one column per label
        }

    return evaluate_members(member, params, test.x, test.y)
