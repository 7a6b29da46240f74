"""Class-conditional digits over beta x prior, and style/content swaps (Beckham sec. 6.4).

For every prior variant one compiled beta x seed sweep is trained (the prior changes the
parameter tree, so it cannot be a vmapped axis) and then evaluated in one vmapped call.
"""

import os
import time

import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax.data import describe, images, load_splits
from cvae_jax.evaluation import images as image_eval
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, prior_variants, train_variants
from cvae_jax.studies import image_plots
from cvae_jax.training import supervised

INDEPENDENT = ("standard",)  # z independent of y; every other prior makes z depend on y
CURVES = {
    "test_iwae": "test IWAE bound on log p(x|y) (nats)",
    "conditional_accuracy": "classifier accuracy on samples",
    "swap_accuracy": "label-swap accuracy",
}


def train_judge(splits, config):
    """The classifier that judges samples (images -> labels), and its own test accuracy."""
    logits_fn, info = fit_judge(splits, config)
    return (lambda x: jnp.argmax(logits_fn(x), axis=-1)), info


def fit_judge(splits, config):
    """The judging classifier as images [..., D] -> logits, and its own test accuracy."""
    c = config.classifier
    start = time.perf_counter()
    module, params = supervised.train_classifier(
        splits.train, config.data.num_classes, c.hidden, c.num_steps, c.batch_size,
        c.learning_rate, c.seed,
    )  # fmt: skip
    info = {
        "test_accuracy": supervised.accuracy(module, params, splits.test),
        "num_steps": c.num_steps,
        "seconds": time.perf_counter() - start,
    }
    logging.info("classifier test accuracy %.4f", info["test_accuracy"])
    return (lambda x: module.apply(params, x)), info


def evaluate(config, setup, sweep, splits, classify):
    """Every test metric of one variant's sweep; (rows, evaluated arrays, eval seconds)."""
    test = images.test_as_trained(config.data, splits.test)
    start = time.perf_counter()
    evaluated = image_eval.evaluate_sweep(
        setup.model, sweep.state.params, test, classify, config.data.num_classes,
        config.evaluation,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    rows = member_rows(sweep, evaluated, variant=config.model.prior)
    return rows, evaluated, seconds


def write_figures(workdir, prior, evaluated, betas, image_shape):
    """Sample grids, swap grids and reconstructions of seed index 0, one panel per beta."""
    family = "z, y independent" if prior in INDEPENDENT else "z, y dependent"
    samples = {b: evaluated["sample_grid"][0, h] for h, b in enumerate(betas)}
    image_plots.sample_grids(
        os.path.join(workdir, f"samples_{prior}.png"), samples, image_shape,
        f"samples x ~ p(x|z,y), z ~ p(z|y); prior {prior} ({family})",
    )  # fmt: skip
    swaps = {b: evaluated["swap_grid"][0, h] for h, b in enumerate(betas)}
    image_plots.swap_grids(
        os.path.join(workdir, f"swaps_{prior}.png"), swaps, image_shape,
        f"style/content swaps; prior {prior} ({family})",
    )  # fmt: skip
    grid = evaluated["swap_grid"][0]  # [H, R, 2 + L, D]
    recon = np.concatenate([grid[:1, :, 0], grid[:, :, 1]], axis=0)  # inputs, then one row per beta
    fig, ax = image_plots.plt.subplots(figsize=(0.5 * grid.shape[1] + 1.5, 0.5 * len(recon) + 0.8))
    image_plots.show_grid(ax, recon, image_shape, ["input"] + [f"beta {b:g}" for b in betas])
    ax.set_title(f"reconstructions, prior {prior}", fontsize=10)
    image_plots.save(fig, os.path.join(workdir, f"reconstructions_{prior}.png"))


def run(config, workdir: str) -> dict:
    """Trains and evaluates every prior variant; writes metrics, summary and figures."""
    start = time.perf_counter()
    splits = load_splits(config.data)
    classify, judge = train_judge(splits, config)
    rows, timings = [], {}
    variants = prior_variants(config)
    for variant, setup, sweep in train_variants(variants, workdir, lambda v: splits.train):
        variant_rows, evaluated, eval_seconds = evaluate(
            variant.config, setup, sweep, splits, classify
        )
        rows += variant_rows
        timings[variant.name] = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}
        logging.info(
            "prior %s: trained in %.1fs, evaluated in %.1fs", variant.name, sweep.seconds,
            eval_seconds,
        )  # fmt: skip
        write_figures(workdir, variant.name, evaluated, config.sweep.betas, splits.image_shape)
    image_plots.metric_curves(
        os.path.join(workdir, "metrics_vs_beta.png"), rows, CURVES,
        f"{config.data.name}: test metrics per prior (mean over seeds)",
    )  # fmt: skip
    summary = {
        "data": describe(config.data, splits),
        "classifier": judge,
        "num_steps": config.training.num_steps,
        "timings": timings,
        "total_seconds": time.perf_counter() - start,
    }
    return results.write_study(workdir, config, rows, summary)


def report(out: dict) -> list[str]:
    lines = [f"classifier test accuracy {out['classifier']['test_accuracy']:.4f}"]
    for r in out["rows"]:
        lines.append(
            f"{r['variant']:<20} beta {r['beta']:<5g} seed {r['seed']} | test ELBO "
            f"{r['test_elbo']:8.3f} | IWAE {r['test_iwae']:8.3f} | cond acc "
            f"{r['conditional_accuracy']:.3f} | swap acc {r['swap_accuracy']:.3f}"
        )
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("digits", prior_variants, run, report=report)
