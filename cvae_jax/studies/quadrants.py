"""Quadrant completion, structured output prediction as in Sohn et al. (2015).

For 1, 2 and 3 observed quadrants (the variants): a deterministic baseline c -> x, then a
cVAE with recognition network q(z|x,c), prior network p(z|c) and generation network
p(x|z,c) whose condition is the observed pixels (optionally with the baseline's prediction,
"fed by the baseline" as in the paper). Both are scored by -log p(x|c) on the test set, the
cVAE's by Sohn et al.'s two estimates (Monte Carlo with z from the prior network, importance
sampling with z from the recognition network) and by the -ELBO the Pyro tutorial reports;
evaluation is vmapped over the cVAE sweep's members.
"""

import os
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax.data import describe, load_splits
from cvae_jax.data import quadrants as quadrant_data
from cvae_jax.data.dataset import Dataset
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import estimators
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, train_variants, variant
from cvae_jax.studies import image_plots
from cvae_jax.training import runner, supervised


def condition(observed, baseline, feed_baseline: bool) -> np.ndarray:
    """The cVAE's condition: observed pixels, plus the baseline's prediction if fed."""
    if not feed_baseline:
        return np.asarray(observed)
    module, params = baseline
    prediction = jax.nn.sigmoid(module.apply(params, jnp.asarray(observed)))
    return np.concatenate([observed, np.asarray(prediction)], axis=-1)


EVAL_BATCH = 500  # test images evaluated at once: 500 x 128 samples x 500 units is 128 MB


def evaluate_cvae(model, params, test: Dataset, eval_config) -> dict:
    """Per member ([S, H]): three NLL estimates on the test set, and completions for figures.

    The test images go through in batches of EVAL_BATCH, each with its own keys, so memory
    does not grow with the test set (10,000 images x K = 100 decodes of a 500-500 network
    at once took 22 GB)."""
    e = eval_config
    key, sample_key = jax.random.split(jax.random.key(e.seed))

    def estimates(p, key, xb, cb):  # [b] each
        nll_key, iwae_key, elbo_key = jax.random.split(key, 3)
        return {
            "nll_elbo": estimators.elbo_nll(elbo_key, model, p, xb, cb, e.elbo_samples),
            "nll_prior_sampling": estimators.prior_sampling_nll(
                nll_key, model, p, xb, cb, e.num_samples
            ),
            "nll_recognition_iwae": estimators.recognition_nll(
                iwae_key, model, p, xb, cb, e.num_samples
            ),
        }

    def member(p, x, c):
        per_example = estimators.in_batches(
            partial(estimates, p), x, c, min(EVAL_BATCH, x.shape[0]), key
        )
        return {
            **jax.tree.map(jnp.mean, per_example),
            "completions": estimators.completions(
                sample_key, model, p, c[: e.figure_rows], e.figure_samples
            ),
        }

    return estimators.evaluate_members(member, params, test.x, test.y)


class Setting(NamedTuple):
    """One number of observed quadrants: its mask, test split, cVAE data and trained baseline."""

    mask: np.ndarray
    test: Dataset  # x: unobserved pixels, y: observed pixels
    cvae_train: Dataset  # condition = observed pixels (+ the baseline's prediction if fed)
    cvae_test: Dataset
    baseline: tuple  # (module, params)
    baseline_row: dict


def prepare_setting(config, splits, num_observed: int) -> Setting:
    """Splits the images by the mask and trains the baseline, which the cVAE may be fed.

    With `data.validation_examples`, the baseline holds out the same last training images
    as the cVAE's sweep and keeps its best parameters on them (`baseline.eval_every`,
    `baseline.patience`: Pyro's early stopping), so neither network trains on them."""
    mask = quadrant_data.observed_mask(splits.image_shape, num_observed, config.quadrant_order)
    train = quadrant_data.observed_split(splits.train.x, mask)
    test = quadrant_data.observed_split(splits.test.x, mask)
    fitted, validation = runner.hold_out_validation(config.data, train)
    b = config.baseline
    start = time.perf_counter()
    baseline, record = supervised.train_baseline(
        fitted, b.hidden, b.num_steps, b.batch_size, b.learning_rate, b.seed,
        validation, b.eval_every, b.patience,
    )  # fmt: skip
    nll = float(np.mean(supervised.baseline_nll(*baseline, test)))
    row = {
        "seed": b.seed, "beta": None, "variant": f"q{num_observed}",
        "observed_quadrants": num_observed, "model": "baseline", "num_test": int(test.x.shape[0]),
        "nll": nll, "num_steps": record.steps, **record.as_row(),
        "train_seconds": time.perf_counter() - start,
    }  # fmt: skip
    best = f", its best on validation at step {record.best_step}" if record.validation_loss else ""
    logging.info("q%d baseline: test nll %.2f after %d steps%s", num_observed, nll, record.steps,
                 best)  # fmt: skip
    feed = config.feed_baseline
    cvae_train = Dataset(train.x, condition(train.y, baseline, feed))
    cvae_test = Dataset(test.x, condition(test.y, baseline, feed))
    return Setting(mask, test, cvae_train, cvae_test, baseline, row)


def cvae_rows(config, setting: Setting, sweep, evaluated, eval_seconds: float) -> list[dict]:
    base = setting.baseline_row
    metrics = {
        "nll": evaluated["nll_prior_sampling"],
        "nll_recognition_iwae": evaluated["nll_recognition_iwae"],
        "nll_elbo": evaluated["nll_elbo"],
    }
    return member_rows(
        sweep, metrics, variant=base["variant"], observed_quadrants=base["observed_quadrants"],
        model="cvae", num_test=base["num_test"],
        num_steps=int(np.max(sweep.history["step"])),  # where early stopping ended training
        train_seconds=sweep.seconds, eval_seconds=eval_seconds,
    )  # fmt: skip


def figure_panel(config, setting: Setting, evaluated) -> dict:
    """Observed part, truth, baseline prediction and cVAE completions of a few test images."""
    mask, test, shown = setting.mask, setting.test, slice(0, config.evaluation.figure_rows)
    module, params = setting.baseline
    baseline_mean = np.asarray(jax.nn.sigmoid(module.apply(params, test.y[shown])))
    return {
        "observed": quadrant_data.assemble(test.y[shown], np.full_like(test.x[shown], 0.15), mask),
        "truth": quadrant_data.assemble(test.y[shown], test.x[shown], mask),
        "baseline": quadrant_data.assemble(test.y[shown], baseline_mean, mask),
        "cvae": quadrant_data.assemble(test.y[shown, None], evaluated["completions"][0, 0], mask),
    }


TABLE_COLUMNS = {  # row key -> column header
    "nll_elbo": "cVAE -ELBO ({k} z ~ q)",
    "nll": "cVAE MC, z ~ p(z|c)",
    "nll_recognition_iwae": "cVAE IS, z ~ q(z|x,c)",
}


def nll_table(rows: list[dict], elbo_samples: int) -> str:
    """The paper-style table: -log p(x|c) (nats, mean over seeds) per observed-quadrant count
    and hybrid weight alpha; the baseline's is its masked cross-entropy."""
    headers = [h.format(k=elbo_samples) for h in TABLE_COLUMNS.values()]
    lines = ["| observed quadrants | alpha | baseline | " + " | ".join(headers) + " |"]
    lines.append("|---" * (3 + len(headers)) + "|")
    for q in sorted({r["observed_quadrants"] for r in rows}):
        mine = [r for r in rows if r["observed_quadrants"] == q]
        base = np.mean([r["nll"] for r in mine if r["model"] == "baseline"])
        cvae = [r for r in mine if r["model"] == "cvae"]
        for alpha in sorted({r["hybrid_alpha"] for r in cvae}, reverse=True):
            at = [r for r in cvae if r["hybrid_alpha"] == alpha]
            cells = [f"{np.mean([r[key] for r in at]):.2f}" for key in TABLE_COLUMNS]
            lines.append(f"| {q} | {alpha:g} | {base:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def quadrant_variants(config):
    """One variant per number of observed quadrants in `config.variants`."""
    return [variant(config, f"q{n}", n) for n in config.variants]


def check(config) -> None:
    quadrant_data.check_order(config.quadrant_order)
    for n in config.variants:
        if n not in (1, 2, 3):
            raise ConfigError(
                f"variants={tuple(config.variants)}: {n!r} observed quadrants is not possible; "
                "use numbers among 1, 2, 3."
            )
    b, held_out = config.baseline, config.data.get("validation_examples", 0)
    if b.eval_every and not held_out:
        raise ConfigError(
            f"baseline.eval_every={b.eval_every} needs a validation split: set "
            "data.validation_examples (e.g. 10000 for MNIST), or baseline.eval_every=0."
        )
    if b.eval_every and b.num_steps % b.eval_every:
        raise ConfigError(
            f"baseline.eval_every={b.eval_every} must divide baseline.num_steps={b.num_steps}."
        )
    if b.patience and not b.eval_every:
        raise ConfigError(
            f"baseline.patience={b.patience} counts evaluations: set baseline.eval_every too."
        )


def run(config, workdir: str) -> dict:
    """Runs every number of observed quadrants; writes metrics, table and figures."""
    start = time.perf_counter()
    splits = load_splits(config.data)
    settings, rows, panels = {}, [], {}

    def data_for(v):  # the baseline first: the cVAE's condition may hold its prediction
        settings[v.name] = prepare_setting(config, splits, v.value)
        return settings[v.name].cvae_train

    for v, setup, sweep in train_variants(quadrant_variants(config), workdir, data_for):
        setting = settings[v.name]
        eval_start = time.perf_counter()
        evaluated = evaluate_cvae(
            setup.model, sweep.state.params, setting.cvae_test, config.evaluation
        )
        eval_seconds = time.perf_counter() - eval_start
        setting_rows = [
            setting.baseline_row,
            *cvae_rows(config, setting, sweep, evaluated, eval_seconds),
        ]
        logging.info("%s observed: %s", v.name, [(r["model"], r["nll"]) for r in setting_rows])
        rows += setting_rows
        panels[v.value] = figure_panel(config, setting, evaluated)
    table = nll_table(rows, config.evaluation.elbo_samples)
    image_plots.completion_grids(
        os.path.join(workdir, "completions.png"), panels, splits.image_shape,
        {q: settings[f"q{q}"].mask for q in panels},
    )  # fmt: skip
    summary = {
        "data": {
            **describe(config.data, splits),
            "targets": "greyscale" if config.data.binarize == "none" else "binary",
        },
        "nll_table_markdown": table,
        "total_seconds": time.perf_counter() - start,
    }
    results.atomic_write_bytes(os.path.join(workdir, "nll_table.md"), table.encode())
    return results.write_study(workdir, config, rows, summary)


def report(out: dict) -> list[str]:
    d = out["data"]
    return [
        f"{d['name']}: {d['num_train']} training / {d['num_test']} test images, "
        f"{d['targets']} targets",
        f"-log p(x|c) on the test set (nats):\n{out['nll_table_markdown']}",
        f"total {out['total_seconds']:.1f}s",
    ]


STUDY = Study("quadrants", quadrant_variants, run, check, report)
