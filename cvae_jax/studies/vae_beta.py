"""The unconditional VAE's beta trade-off (Beckham sec. 2.3, figure 5; Higgins et al. 2017).

One compiled sweep over beta of a VAE: the digits' images with an empty condition, so the
same modules as the cVAE studies with p(z|y) = p(z) = N(0, I). beta = 0 reconstructs well
and samples badly (the posterior is free to leave the prior); beta around 1 does both
decently; a large beta collapses the posterior onto the prior and does both badly. Rows carry
distortion, rate and sample-quality scores from a classifier trained on the labels.
"""

import os
import time

import numpy as np
from absl import logging

from cvae_jax.data import describe, images, load_splits, without_condition
from cvae_jax.evaluation import unconditional
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, train_variants, variant
from cvae_jax.studies import image_plots
from cvae_jax.studies.digits import fit_judge


def vae_variants(config):
    """One variant: the VAE (no label, the standard normal prior)."""
    v = variant(config, "vae")
    v.config.data.num_classes = 0  # the labels only judge samples; the model never sees them
    v.config.model.prior = "standard"
    return [v]


def evaluate(config, setup, sweep, splits, logits_fn):
    test = images.test_as_trained(config.data, splits.test)
    start = time.perf_counter()
    evaluated = unconditional.evaluate_sweep(
        setup.model, sweep.state.params, test, logits_fn, config.data.num_classes,
        config.evaluation,
    )  # fmt: skip
    return evaluated, time.perf_counter() - start


def write_figures(workdir, evaluated, betas, test_x, image_shape, title) -> None:
    """figure 5: reconstructions and samples per beta; the metrics against beta."""
    columns = evaluated["recon_grid"].shape[2]
    image_plots.beta_pathways(
        os.path.join(workdir, "pathways.png"), np.asarray(test_x[:columns]),
        evaluated["recon_grid"][0], evaluated["sample_grid"][0], betas, image_shape, title,
    )  # fmt: skip
    rows = [{"beta": b, **{k: float(evaluated[k][0, h]) for k in unconditional.METRICS}}
            for h, b in enumerate(betas)]  # fmt: skip
    image_plots.beta_lines(os.path.join(workdir, "metrics_vs_beta.png"), rows,
                           unconditional.METRICS, title)  # fmt: skip


def run(config, workdir: str) -> dict:
    """Trains the beta sweep, evaluates both pathways, writes metrics and figures."""
    start = time.perf_counter()
    splits = load_splits(config.data)
    logits_fn, judge = fit_judge(splits, config)
    rows = []
    train = without_condition(splits.train)
    for v, setup, sweep in train_variants(vae_variants(config), workdir, lambda v: train):
        evaluated, eval_seconds = evaluate(config, setup, sweep, splits, logits_fn)
        metric_arrays = {k: v_ for k, v_ in evaluated.items() if not k.endswith("_grid")}
        rows += member_rows(sweep, metric_arrays, variant=v.name, eval_seconds=eval_seconds)
        logging.info("trained in %.1fs, evaluated in %.1fs", sweep.seconds, eval_seconds)
        timings = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}
        write_figures(
            workdir, evaluated, config.sweep.betas, splits.test.x, splits.image_shape,
            f"{config.data.name}: unconditional VAE, {config.training.num_steps} steps",
        )  # fmt: skip
    summary = {
        "data": describe(config.data, splits), "classifier": judge,
        "num_steps": config.training.num_steps, "timings": timings,
        "total_seconds": time.perf_counter() - start,
    }  # fmt: skip
    return results.write_study(workdir, config, rows, summary)


def report(out: dict) -> list[str]:
    lines = [f"classifier test accuracy {out['classifier']['test_accuracy']:.4f}"]
    for r in out["rows"]:
        lines.append(
            f"beta {r['beta']:<7g} seed {r['seed']} | distortion {r['test_distortion']:8.2f} | "
            f"rate {r['test_rate']:7.2f} | recon acc {r['recon_accuracy']:.3f} | sample conf "
            f"{r['sample_confidence']:.3f} | label entropy {r['sample_label_entropy']:.3f} | "
            f"score {r['sample_score']:.2f}"
        )
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("vae_beta", vae_variants, run, report=report)
