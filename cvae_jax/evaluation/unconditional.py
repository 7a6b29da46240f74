"""Evaluation of an unconditional VAE's beta sweep (Beckham sec. 2.3, figure 5; Higgins et al.
2017): the inference pathway (reconstructions x -> z ~ q(z|x) -> x') and the generative
pathway (z ~ p(z) -> x), scored by distortion, rate and a classifier trained on the labels.

The sample-quality scores come from a classifier trained on the labels: its mean confidence
on samples (a digit-like sample gets a confident label), the entropy of its predicted labels
over the samples (log 10 when every digit is drawn equally often; 0 when all look alike), and
the two combined as the classifier score exp E_x KL(p(y|x) || p(y)) of Salimans et al. (2016),
from 1 (no digit, or always the same one) to 10 (confident and every digit equally often).
"""

import jax
import jax.numpy as jnp

from cvae_jax.core import latents
from cvae_jax.evaluation.estimators import decode_mean, evaluate_members, in_batches

METRICS = {  # name -> axis label
    "test_distortion": "distortion -E log p(x|z) (nats)",
    "test_rate": "rate KL(q(z|x)||p(z)) (nats)",
    "recon_accuracy": "classifier accuracy on reconstructions",
    "sample_confidence": "classifier confidence on samples",
    "sample_label_entropy": "entropy of sample labels (nats)",
    "sample_score": "classifier score of samples (1 to 10)",
}


def label_entropy(labels, num_classes: int) -> jax.Array:
    """Entropy (nats) of the empirical distribution of integer `labels` [N]."""
    freq = jnp.mean(jax.nn.one_hot(labels, num_classes), axis=0)
    return jnp.sum(jax.scipy.special.entr(freq))


def classifier_score(logits) -> jax.Array:
    """exp E_x KL(p(y|x) || p(y)) for classifier logits [N, L], p(y) their mean (Salimans et
    al. 2016's score with a digit classifier): between 1 and L."""
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    log_marginal = jnp.log(jnp.mean(jnp.exp(log_probs), axis=0))
    kl = jnp.sum(jnp.exp(log_probs) * (log_probs - log_marginal), axis=-1)
    return jnp.exp(jnp.mean(kl))


def evaluate_member(model, params, test, logits_fn, num_classes: int, e, key) -> dict:
    """Metrics (scalars) and figure arrays of one member on the test Dataset (x, labels).

    logits_fn: images [..., D] -> classifier logits [..., num_classes].
    """
    elbo_key, sample_key = jax.random.split(key)
    x, labels = test.x, test.y
    empty = jnp.zeros((x.shape[0], 0), x.dtype)

    def terms(xb, cb):
        t = model.apply(params, xb, cb, elbo_key)
        return {"distortion": t["distortion"], "rate": jnp.sum(t["rate_groups"], -1)}

    bounds = in_batches(terms, x, empty, min(256, x.shape[0]))
    q = model.apply(params, x[: e.recon_examples], empty[: e.recon_examples], method=model.encode)
    recon = decode_mean(model, params, latents.centre(q), empty[: e.recon_examples])
    no_condition = jnp.zeros((e.num_samples, 0), x.dtype)
    z = model.apply(params, no_condition, sample_key, method=model.prior_sample)
    samples = decode_mean(model, params, z, no_condition)  # [N, D]
    logits = logits_fn(samples)
    probs = jax.nn.softmax(logits, axis=-1)
    return {
        "test_distortion": jnp.mean(bounds["distortion"]),
        "test_rate": jnp.mean(bounds["rate"]),
        "test_elbo": -jnp.mean(bounds["distortion"] + bounds["rate"]),
        "recon_accuracy": jnp.mean(jnp.argmax(logits_fn(recon), -1) == labels[: e.recon_examples]),
        "sample_confidence": jnp.mean(jnp.max(probs, axis=-1)),
        "sample_label_entropy": label_entropy(jnp.argmax(probs, -1), num_classes),
        "sample_score": classifier_score(logits),
        "recon_grid": recon[: e.figure_columns],  # [C, D]
        "sample_grid": samples[: e.figure_columns],  # [C, D]
    }


def evaluate_sweep(model, params, test, logits_fn, num_classes: int, eval_config) -> dict:
    """`evaluate_member` for every member (params leaves [S, H, ...]) in one jitted call."""
    key = jax.random.key(eval_config.seed)

    def member(p, x, labels):
        return evaluate_member(
            model, p, type(test)(x, labels), logits_fn, num_classes, eval_config, key
        )

    return evaluate_members(member, params, test.x, test.y)
