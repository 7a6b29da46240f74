"""Issue 4, experiment 3: quadrant completion (Sohn et al. 2015, seed 003).

For 1, 2 and 3 observed quadrants: a deterministic baseline c -> x, then a cVAE with
recognition network q(z|x,c), prior network p(z|c) and generation network p(x|z,c), whose
condition is the observed pixels concatenated with the baseline's prediction (the cVAE is
"fed by the baseline", as in the paper). Both are scored by -log p(x|c) on the test set,
the cVAE's by importance sampling with its prior network; evaluation is vmapped over the
cVAE sweep's members.
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax import image_data, image_plots, quadrant_data, results, runner, structured
from cvae_jax.data import Dataset
from cvae_jax.image_eval import over_members


def condition(observed, baseline, feed_baseline: bool) -> np.ndarray:
    """The cVAE's condition: observed pixels, plus the baseline's prediction if fed."""
    if not feed_baseline:
        return np.asarray(observed)
    module, params = baseline
    prediction = jax.nn.sigmoid(module.apply(params, jnp.asarray(observed)))
    return np.concatenate([observed, np.asarray(prediction)], axis=-1)


def evaluate_cvae(model, params, test: Dataset, eval_config) -> dict:
    """Per member ([S, H]): both NLL estimates on the test set, and completions for figures."""
    e = eval_config
    nll_key, iwae_key, sample_key = jax.random.split(jax.random.key(e.seed), 3)
    x, c = jnp.asarray(test.x), jnp.asarray(test.y)

    def member(p):
        return {
            "nll_prior_sampling": jnp.mean(
                structured.prior_sampling_nll(nll_key, model, p, x, c, e.num_samples)
            ),
            "nll_recognition_iwae": jnp.mean(
                structured.recognition_nll(iwae_key, model, p, x, c, e.num_samples)
            ),
            "completions": structured.completions(
                sample_key, model, p, c[: e.figure_rows], e.figure_samples
            ),
        }

    return jax.device_get(jax.jit(over_members(member))(params))


def run_setting(config, splits, num_observed: int, workdir: str):
    """Baseline and cVAE for one number of observed quadrants; (rows, figure panel)."""
    mask = quadrant_data.observed_mask(splits.image_shape, num_observed)
    train = quadrant_data.observed_split(splits.train.x, mask)
    test = quadrant_data.observed_split(splits.test.x, mask)
    b = config.baseline
    start = time.perf_counter()
    baseline = structured.train_baseline(
        train, b.hidden, b.num_steps, b.batch_size, b.learning_rate, b.seed
    )
    baseline_nll = float(np.mean(structured.baseline_nll(*baseline, test)))
    baseline_seconds = time.perf_counter() - start
    feed = config.feed_baseline
    cvae_train = Dataset(train.x, condition(train.y, baseline, feed))
    cvae_test = Dataset(test.x, condition(test.y, baseline, feed))
    setup, sweep = runner.train_sweep(config, cvae_train, os.path.join(workdir, f"q{num_observed}"))
    start = time.perf_counter()
    evaluated = evaluate_cvae(setup.model, sweep.state.params, cvae_test, config.eval)
    eval_seconds = time.perf_counter() - start
    common = {"observed_quadrants": num_observed, "num_test": int(test.x.shape[0])}
    rows = [
        common | {"model": "baseline", "seed": b.seed, "beta": float("nan"),
                  "nll": baseline_nll, "num_steps": b.num_steps, "train_seconds": baseline_seconds}
    ]  # fmt: skip
    for s, seed in enumerate(sweep.seeds):
        for h, beta in enumerate(sweep.hyper["beta"]):
            rows.append(common | {
                "model": "cvae", "seed": int(seed), "beta": float(beta),
                "nll": float(evaluated["nll_prior_sampling"][s, h]),
                "nll_recognition_iwae": float(evaluated["nll_recognition_iwae"][s, h]),
                "num_steps": config.training.num_steps, "train_seconds": sweep.seconds,
                "eval_seconds": eval_seconds,
            })  # fmt: skip
    rows_shown = slice(0, config.eval.figure_rows)
    baseline_mean = np.asarray(jax.nn.sigmoid(baseline[0].apply(baseline[1], test.y[rows_shown])))
    panel = {
        "observed": quadrant_data.assemble(
            test.y[rows_shown], np.full_like(test.x[rows_shown], 0.15), mask
        ),
        "truth": quadrant_data.assemble(test.y[rows_shown], test.x[rows_shown], mask),
        "baseline": quadrant_data.assemble(test.y[rows_shown], baseline_mean, mask),
        "cvae": quadrant_data.assemble(
            test.y[rows_shown, None], evaluated["completions"][0, 0], mask
        ),
    }
    return rows, panel


def nll_table(rows: list[dict]) -> str:
    """The paper-style table: -log p(x|c) (nats, mean over seeds) per observed-quadrant count."""
    lines = ["| observed quadrants | baseline | cVAE (prior-network IS) | cVAE (q-IWAE bound) |"]
    lines.append("|---|---|---|---|")
    for q in sorted({r["observed_quadrants"] for r in rows}):
        mine = [r for r in rows if r["observed_quadrants"] == q]
        base = np.mean([r["nll"] for r in mine if r["model"] == "baseline"])
        cvae = np.mean([r["nll"] for r in mine if r["model"] == "cvae"])
        iwae = np.mean([r["nll_recognition_iwae"] for r in mine if r["model"] == "cvae"])
        lines.append(f"| {q} | {base:.2f} | {cvae:.2f} | {iwae:.2f} |")
    return "\n".join(lines) + "\n"


def run(config, workdir: str) -> dict:
    """Runs every setting of `config.observed_quadrants`; writes metrics, table and figures."""
    start = time.perf_counter()
    splits = image_data.load_splits(config.data)
    rows, panels = [], {}
    for q in config.observed_quadrants:
        setting_rows, panels[q] = run_setting(config, splits, q, workdir)
        rows += setting_rows
        logging.info(
            "%d quadrant(s) observed: %s", q, [(r["model"], r["nll"]) for r in setting_rows]
        )
    table = nll_table(rows)
    image_plots.completion_grids(
        os.path.join(workdir, "completions.png"), panels, splits.image_shape
    )
    out = {
        "data": {"name": config.data.name, "image_shape": list(splits.image_shape)},
        "nll_table_markdown": table,
        "total_seconds": time.perf_counter() - start,
        "rows": rows,
    }
    results.write_metrics(workdir, config, out, rows)
    results.atomic_write_bytes(os.path.join(workdir, "nll_table.md"), table.encode())
    return out
