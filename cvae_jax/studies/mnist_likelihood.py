"""The MNIST likelihood benchmark: -log p(x) of the VAE families beside the published table.

Burda et al. (2016)'s protocol: dynamic binarisation in training, the test images binarised
once, -log p(x) estimated by importance sampling with k = 5,000 samples of q per test image
(the IWAE bound, which is within a fraction of a nat of log p(x) at that k), one- and
two-stochastic-layer MLPs, batch 20, Adam with their 3^i-epoch learning-rate passes. Each
member keeps its best epoch on the last 10,000 training images (`training.eval_every`).
The label-conditioned rows (cVAE priors) estimate -log p(x|y) the same way.
"""

import os
import time

import jax
import numpy as np
from absl import logging

from cvae_jax import checks
from cvae_jax.data import describe, images, load_splits, without_condition
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import estimators
from cvae_jax.evaluation.rows import family_columns, member_rows
from cvae_jax.runs import milestones, results
from cvae_jax.runs.study import Study, check_variants, train_variants, variant
from cvae_jax.studies import likelihood_plots

# name -> (model overrides, conditioned on the label, published -log p(x), where from).
# Burda et al. 2016, table 1: dynamic binarisation, k = 5,000. Tomczak & Welling 2018 report
# on the static (Larochelle) binarisation. nbip/IWAE's README: a label-conditioned IWAE.
ROWS = {
    "vae_1": ({}, False, 86.76, "Burda et al. 2016, VAE, 1 layer (dynamic)"),
    "iwae5_1": ({"iwae_samples": 5}, False, 85.54, "Burda et al. 2016, IWAE k=5, 1 layer"),
    "iwae50_1": ({"iwae_samples": 50}, False, 84.78, "Burda et al. 2016, IWAE k=50, 1 layer"),
    "vae_2": ({"layers": 2}, False, 85.33, "Burda et al. 2016, VAE, 2 layers (dynamic)"),
    "iwae5_2": ({"layers": 2, "iwae_samples": 5}, False, 83.89, "Burda et al. 2016, IWAE k=5, 2 layers"),
    "iwae50_2": ({"layers": 2, "iwae_samples": 50}, False, 82.90, "Burda et al. 2016, IWAE k=50, 2 layers"),
    "mog_1": ({"prior": "mog"}, False, None, ""),
    "vamp_1": ({"prior": "vamp", "warmup": True}, False, 85.57, "Tomczak & Welling 2018, VampPrior, 1 layer (static)"),
    "iaf_1": ({"posterior": "iaf"}, False, None, ""),
    "vq_1": ({"kind": "vq"}, False, None, ""),
    "cvae_standard": ({}, True, 82.32, "nbip/IWAE README, label-conditioned, k=1"),
    "cvae_learned_conditional": ({"prior": "learned_conditional"}, True, 82.32, "nbip/IWAE README, label-conditioned, k=1"),
    "cvae_vamp": ({"prior": "vamp", "warmup": True}, True, 82.32, "nbip/IWAE README, label-conditioned, k=1"),
}  # fmt: skip
# The VampPrior rows follow Tomczak & Welling (2018) and anneal the KL term linearly over their
# first `vamp_warmup_steps` (their 100 epochs, scaled to the run's budget by the config).
# Without it they collapse at Burda's settings (rate 0, -log p(x) 207 after 10 epochs:
# docs/mnist.md), whether the pseudo-inputs start grey or as training images.
TWO_LAYERS = (100, 50)  # Burda et al.'s two stochastic layers,
BETWEEN_LAYERS = (100, 100)  # and the deterministic layers between them
# The VQ-VAE row: 16 code vectors of 8 numbers, 128 EMA codes, the autoregressive code prior;
# its -log p(x) bound is -log p(x|z_q) - log p(k_q) (a point-mass posterior: docs/families.md).
# Codes used by fewer than one vector a step are redrawn from the batch (Dhariwal et al.
# 2020): without it the codebook collapsed onto one code within 2 epochs at learning rates
# 1e-3 and 1e-4 (3e-4 trained; docs/mnist.md).
VQ_CODES = {
    "latent_dim": 16, "code_dim": 8, "codebook_size": 128, "codebook_update": "ema",
    "codebook_restart": 1.0, "code_prior": "autoregressive",
}  # fmt: skip


def check(config) -> None:
    check_variants(config, tuple(ROWS))
    e = config.evaluation
    if e.curve_epochs and not config.data.validation_examples:
        raise ConfigError(
            f"evaluation.curve_epochs={tuple(e.curve_epochs)} measures -log p(x) of the "
            "validation images, and data.validation_examples is 0; hold some out (MNIST: "
            "10000) or set evaluation.curve_epochs=()."
        )
    if (
        any(not epoch > 0 for epoch in e.curve_epochs)
        or e.curve_samples < 1
        or e.curve_examples < 0
    ):
        raise ConfigError(
            f"evaluation.curve_epochs={tuple(e.curve_epochs)}, curve_samples={e.curve_samples} "
            f"and curve_examples={e.curve_examples}: the epochs must be positive, k at least 1 "
            "and the examples at least 0 (0: every validation image)."
        )
    steps = config.vamp_warmup_steps
    if not checks.is_count(steps):  # the KL warm-up of its rows: objective.kl_warmup_steps's range
        raise ConfigError(
            f"vamp_warmup_steps={steps} must be an integer >= 0: 0 trains the VampPrior rows "
            "without warm-up, and a warm-up longer than training.num_steps never reaches the "
            "full KL weight (a prefix of a longer schedule)."
        )


def likelihood_variants(config):
    """One variant per row: the row's model overrides applied to the config."""
    variants = []
    for name in config.variants:
        overrides, conditioned, _, _ = ROWS[name]
        v = variant(config, name)
        m = v.config.model
        m.prior = overrides.get("prior", "standard")
        m.posterior = overrides.get("posterior", "gaussian")
        v.config.objective.iwae_samples = overrides.get("iwae_samples", 1)
        if overrides.get("warmup"):
            v.config.objective.kl_warmup_steps = config.vamp_warmup_steps
        if overrides.get("layers", 1) == 2:
            m.kind, m.latent_dims = "hierarchical", TWO_LAYERS
            with m.unlocked():  # the kind's own key
                m.upper_hidden = BETWEEN_LAYERS
        if overrides.get("kind") == "vq":  # VQ_CODES: its codes, as `vq` rows everywhere
            with m.unlocked():  # the kind's own keys (a launcher locks the config)
                m.update({"kind": "vq", **VQ_CODES})
        if not conditioned:
            v.config.data.num_classes = 0  # an empty condition: the plain VAE
        variants.append(v)
    return variants


def _training_data(splits, v):
    return splits.train if v.config.data.num_classes else without_condition(splits.train)


def test_nll(config, setup, sweep, test) -> np.ndarray:
    """-log p(x) (or -log p(x|y)) per member [S, H]: minus the IWAE bound with k =
    `evaluation.test_samples`, averaged over the test images, all members in one call."""
    e = config.evaluation
    return nll_estimate(setup, test, e.test_samples, e.batch_size, e.seed)(sweep.state.params)


def nll_estimate(setup, data, k: int, batch_size: int, seed: int):
    """params [S, H, ...] -> [S, H]: minus the IWAE bound with k samples, averaged over
    `data`, every member in one call, compiled once (the same keys for every call)."""

    def member(params, x, y):
        def batch(key, xb, yb):
            return {"nll": -estimators.iwae_bound(key, setup.model, params, xb, yb, k)}

        nll = estimators.in_batches(batch, x, y, batch_size, jax.random.key(seed))["nll"]
        return nll.mean()

    evaluate = estimators.members_evaluator(member)
    return lambda params: np.asarray(evaluate(params, data.x, data.y))


def milestone_measure(config, workdir: str):
    """`train_variants`' measure_for: -log p(x) of the validation images (k =
    `evaluation.curve_samples`) at the `evaluation.curve_epochs`, each variant's points in
    `milestones_path(workdir, variant)`."""
    e = config.evaluation

    def measure_for(v, setup):
        if not e.curve_epochs:
            return None
        held_out = setup.validation
        n = e.curve_examples or held_out.x.shape[0]
        held_out = type(held_out)(held_out.x[:n], held_out.y[:n])
        per_epoch = steps_per_epoch(setup, v.config)
        return milestones.MilestoneEstimates(
            milestones_path(workdir, v.name),
            [round(epoch * per_epoch) for epoch in e.curve_epochs],
            nll_estimate(setup, held_out, e.curve_samples, e.batch_size, e.seed),
        )  # fmt: skip

    return measure_for


def milestones_path(workdir: str, name: str) -> str:
    return os.path.join(workdir, "validation_nll", f"{name}.json")


def steps_per_epoch(setup, config) -> float:
    """Training steps per pass over the training images (the validation split held out)."""
    return setup.data.x.shape[0] / config.training.batch_size


def _test_set(config, splits, conditioned: bool):
    test = images.test_as_trained(config.data, splits.test)
    n = config.evaluation.test_examples or test.x.shape[0]
    test = type(test)(test.x[:n], test.y[:n])
    return test if conditioned else without_condition(test)


def curve_rows(name: str, sweep, per_epoch: float, measured: dict) -> list[dict]:
    """Per member and epoch: the validation bound, and -log p(x) of the validation images
    where a milestone measured it (`measured`, {step: [S, H]}; blank elsewhere): where each
    run is heading."""
    history = sweep.history
    rows = []
    for c, step in enumerate(history["step"]):
        nll = measured.get(int(step))
        for s, seed in enumerate(sweep.seeds):
            for h in range(history["validation_loss"].shape[2]):
                rows.append({
                    "variant": name, "seed": int(seed), "grid_point": h,
                    "epoch": step / per_epoch,
                    "validation_nll_bound": float(history["validation_loss"][c, s, h]),
                    "validation_nll": None if nll is None else float(nll[s, h]),
                })  # fmt: skip
    return rows


def run(config, workdir: str) -> dict:
    start = time.perf_counter()
    splits = load_splits(config.data)
    rows, curves = [], []
    for v, setup, sweep in train_variants(
        likelihood_variants(config), workdir, lambda v: _training_data(splits, v),
        milestone_measure(config, workdir),
    ):  # fmt: skip
        _, conditioned, published, source = ROWS[v.name]
        test = _test_set(v.config, splits, conditioned)
        t = time.perf_counter()
        nll = test_nll(v.config, setup, sweep, test)
        eval_seconds = time.perf_counter() - t
        per_epoch = steps_per_epoch(setup, v.config)
        labels = {
            "variant": v.name, "conditioned": conditioned,
            "binarisation": config.data.binarize, "published_nll": published,
            "published_source": source, "train_examples": int(setup.data.x.shape[0]),
            "test_examples": int(test.x.shape[0]), "test_samples": config.evaluation.test_samples,
            "epochs_trained": int(np.max(sweep.history["step"])) / per_epoch,
            "train_seconds": sweep.seconds,
            "eval_seconds": eval_seconds,
        }  # fmt: skip
        new = member_rows(sweep, {"test_nll": nll}, **labels, **family_columns(v.config))
        for row in new:
            row["best_epoch"] = row["best_step"] / per_epoch
        rows += new
        measured = milestones.measured(milestones_path(workdir, v.name))
        curves += curve_rows(v.name, sweep, per_epoch, measured)
        logging.info("%s: test -log p(x) %.2f (published %s), %.0fs training, %.0fs evaluation",
                     v.name, float(nll.mean()), published, sweep.seconds, eval_seconds)  # fmt: skip
    results.write_csv(os.path.join(workdir, "curves.csv"), curves)
    likelihood_plots.curves(os.path.join(workdir, "curves.png"), curves, rows)
    table = likelihood_plots.table_markdown(rows)
    results.atomic_write_bytes(os.path.join(workdir, "table.md"), table.encode())
    summary = {
        "data": describe(config.data, splits), "table_markdown": table,
        "total_seconds": time.perf_counter() - start,
    }  # fmt: skip
    return results.write_study(workdir, config, rows, summary)


def report(out: dict) -> list[str]:
    return out["table_markdown"].splitlines() + [f"total {out['total_seconds']:.0f}s"]


STUDY = Study("mnist_likelihood", likelihood_variants, run, check=check, report=report)
