"""Issue 4, experiments 1 and 2: class-conditional digits over beta x prior, and style swaps.

For every prior variant one compiled beta x seed sweep is trained (the prior changes the
parameter tree, so it cannot be a vmapped axis) and then evaluated in one vmapped call.
"""

import os
import time

import numpy as np
from absl import logging

from cvae_jax import classifier, image_data, image_eval, image_plots, results, runner

INDEPENDENT = ("standard",)  # z independent of y; every other prior makes z depend on y
CURVES = {
    "test_iwae": "test IWAE bound on log p(x|y) (nats)",
    "conditional_accuracy": "classifier accuracy on samples",
    "swap_accuracy": "label-swap accuracy",
}


def train_judge(splits, config):
    """The classifier that judges samples, and its own test accuracy."""
    c = config.classifier
    start = time.perf_counter()
    module, params = classifier.train_classifier(
        splits.train, config.data.num_classes, c.hidden, c.num_steps, c.batch_size,
        c.learning_rate, c.seed,
    )  # fmt: skip
    info = {
        "test_accuracy": classifier.accuracy(module, params, splits.test),
        "num_steps": c.num_steps,
        "seconds": time.perf_counter() - start,
    }
    logging.info("classifier test accuracy %.4f", info["test_accuracy"])
    return (lambda images: classifier.predict(module, params, images)), info


def run_prior(config, prior: str, splits, classify, workdir: str):
    """Trains and evaluates the sweep of one prior; returns (rows, evaluated arrays, seconds)."""
    prior_config = config.copy_and_resolve_references()
    prior_config.model.prior = prior
    setup, sweep = runner.train_sweep(prior_config, splits.train, os.path.join(workdir, prior))
    test = splits.test  # binary if the model was trained on binarised images (as in training)
    if config.data.binarize == "dynamic":
        test = image_data.sample_binary(test, config.data.seed)
    start = time.perf_counter()
    evaluated = image_eval.evaluate_sweep(
        setup.model, sweep.state.params, test, classify, config.data.num_classes, config.eval
    )
    eval_seconds = time.perf_counter() - start
    rows = image_eval.member_rows(evaluated, sweep.seeds, sweep.hyper["beta"], prior)
    for row, train_row in zip(rows, sweep.rows(), strict=True):
        row["final_train_loss"] = train_row["final_loss"]
        row["diverged_at"] = train_row["diverged_at"]
    logging.info(
        "prior %s: trained in %.1fs, evaluated in %.1fs", prior, sweep.seconds, eval_seconds
    )
    return rows, evaluated, {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}


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
    """Runs experiments 1 and 2 and writes metrics.json/.csv, config.json and figures."""
    start = time.perf_counter()
    splits = image_data.load_splits(config.data)
    classify, judge = train_judge(splits, config)
    rows, timings = [], {}
    for prior in config.priors:
        prior_rows, evaluated, timings[prior] = run_prior(config, prior, splits, classify, workdir)
        rows += prior_rows
        write_figures(workdir, prior, evaluated, config.sweep.betas, splits.image_shape)
    image_plots.metric_curves(
        os.path.join(workdir, "metrics_vs_beta.png"), rows, CURVES,
        f"{config.data.name}: test metrics per prior (mean over seeds)",
    )  # fmt: skip
    out = {
        "data": {
            "name": config.data.name,
            "image_shape": list(splits.image_shape),
            "num_train": int(splits.train.x.shape[0]),
            "num_test": int(splits.test.x.shape[0]),
        },
        "classifier": judge,
        "num_steps": config.training.num_steps,
        "timings": timings,
        "total_seconds": time.perf_counter() - start,
        "members": rows,
    }
    results.write_metrics(workdir, config, out, rows)
    return out
