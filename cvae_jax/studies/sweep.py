"""Your own labelled data, any grid: one compiled sweep and every diagnostic of each member.

python -m experiments.sweep --config=configs/sweep.py --workdir=DIR \\
    --config.data.name=npz --config.data.path=F.npz --config.sweep.grid.capacity='(0.0,2.0)'

The data is any (x, y) with integer labels y (`data.num_classes=0` counts them); x may have
any shape (it is flattened). Per member it writes the test ELBO and IWAE bound, distortion,
rate and its mutual-information split, active units and the label-swap and conditional
accuracies judged by a classifier trained on the same data (`evaluation.members`), one row
per (seed, grid point) in metrics.json/csv, and figures of every diagnostic against the
grid's axes and on the rate-distortion plane.
"""

import os
import time

import numpy as np
from absl import logging

from cvae_jax import config as config_lib
from cvae_jax.data import describe, images, load_splits
from cvae_jax.data.files import num_classes_of
from cvae_jax.errors import DataError
from cvae_jax.evaluation import members
from cvae_jax.evaluation.rows import family_columns, member_rows
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, train_variants, variant
from cvae_jax.studies import grid_plots
from cvae_jax.studies.digits import train_judge


def labelled_splits(config):
    """(config with data.num_classes resolved, train/test Splits), or DataError saying why."""
    splits = load_splits(config.data)
    name = config.data.name
    if splits.test is None:
        raise DataError(f"data.name={name} gave no test set; set data.test_fraction in (0, 1).")
    labels = np.concatenate([np.asarray(splits.train.y), np.asarray(splits.test.y)])
    found = num_classes_of(labels)
    if found < 2:
        raise DataError(
            f"data.name={name}: y must be integer class labels [N] with at least two classes "
            f"(found {labels.dtype} {labels.shape}); for a continuous condition call "
            "cvae_jax.train_sweep from Python."
        )
    config = config.copy_and_resolve_references()
    if not config.data.num_classes:
        config.data.num_classes = found
        logging.info("data.num_classes=0: %d classes found in the labels", found)
    config = config_lib.resolve_likelihood(config, splits.train)
    x = np.asarray(splits.train.x)
    if config.model.likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"model.likelihood=bernoulli needs x in [0, 1]; data.name={name} has x in "
            f"[{x.min():.3g}, {x.max():.3g}]. Set --config.model.likelihood=gaussian."
        )
    return config, splits


def varying_axes(config) -> list[str]:
    return [name for name, values in config_lib.grid(config).items() if len(values) > 1]


def write_figures(workdir: str, rows: list[dict], axes: list[str], title: str) -> None:
    """Every diagnostic against the grid axes, and distortion / IWAE against the rate."""
    diagnostics = {k: v for k, v in members.DIAGNOSTICS.items() if k in rows[0]}
    if len(axes) == 2:
        path = os.path.join(workdir, f"diagnostics_{axes[0]}_x_{axes[1]}.png")
        grid_plots.heat_maps(path, rows, (axes[1], axes[0]), diagnostics, title)
    else:  # one axis, or lines against each axis (means over the others)
        for axis in axes:
            path = os.path.join(workdir, f"diagnostics_vs_{axis}.png")
            grid_plots.lines(path, rows, axis, diagnostics, title)
    for metric in ("test_distortion", "test_iwae", "active_units"):
        grid_plots.against_rate(
            os.path.join(workdir, f"{metric.removeprefix('test_')}_vs_rate.png"), rows, metric,
            members.DIAGNOSTICS[metric], "variant", title,
        )  # fmt: skip


def evaluate(config, setup, sweep, splits, classify, **labels) -> tuple[list[dict], float]:
    """One row per member: its grid point, `labels` (e.g. variant=...), the family's settings
    (`family_columns`) and every diagnostic."""
    labels = {**labels, **family_columns(config)}
    start = time.perf_counter()
    metrics = members.evaluate_sweep(
        setup.model, sweep.state.params, images.test_as_trained(config.data, splits.test), classify,
        config.data.num_classes, config.evaluation,
    )  # fmt: skip
    return member_rows(sweep, metrics, **labels), time.perf_counter() - start


def evaluate_trained(config, setup, result) -> list[dict]:
    """The rows `experiments.sweep` writes to metrics.json, for a sweep trained from Python
    (`setup, result = cvae_jax.train_sweep(config)`): every diagnostic per member on the
    config's test split, judged by the same classifier. `config` needs the launcher's
    `evaluation` and `classifier` sections (configs/sweep.py has them) and a data set with a
    test split (`data.test_fraction` for your own .npz)."""
    config, splits = labelled_splits(config)
    classify, _ = train_judge(splits, config)
    rows, _ = evaluate(config, setup, result, splits, classify, variant="grid")
    return rows


def variants(config):
    return [variant(config, "grid")]


def run(config, workdir: str) -> dict:
    start = time.perf_counter()
    given = config  # config.json holds it as given, so a rerun finds the same config
    config, splits = labelled_splits(config)
    classify, judge = train_judge(splits, config)
    ((_, setup, sweep),) = train_variants(variants(config), workdir, lambda v: splits.train)
    rows, eval_seconds = evaluate(config, setup, sweep, splits, classify, variant="grid")
    axes = varying_axes(config)
    write_figures(workdir, rows, axes, f"{config.data.name}: {' x '.join(axes) or 'seeds'}")
    summary = {
        "data": data_summary(config, splits),
        "grid": {k: list(v) for k, v in config_lib.grid(config).items()},
        "classifier": judge,
        "train_seconds": sweep.seconds,
        "eval_seconds": eval_seconds,
        "total_seconds": time.perf_counter() - start,
    }
    return results.write_study(workdir, given, rows, summary)


def data_summary(config, splits) -> dict:
    return {
        **describe(config.data, splits),
        "num_classes": config.data.num_classes,
        "dim": int(splits.train.x.shape[1]),
    }


def report(out: dict) -> list[str]:
    lines = [f"classifier test accuracy {out['classifier']['test_accuracy']:.4f}"]
    for r in out["rows"]:
        point = " ".join(f"{k}={r[k]:g}" for k in out["grid"] if len(out["grid"][k]) > 1)
        lines.append(
            f"seed {r['seed']} {point or 'beta=' + format(r['beta'], 'g')} | ELBO "
            f"{r['test_elbo']:.2f} IWAE {r['test_iwae']:.2f} | D {r['test_distortion']:.2f} "
            f"R {r['test_rate']:.2f} | active {r['active_units']} | swap acc "
            f"{r['swap_accuracy']:.3f}"
        )
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("sweep", variants, run, report=report)
