"""Latent families side by side: priors x posteriors x depth, and the IWAE objective.

A variant is named `<prior>[+iaf][+hvae][+iwae]`: the prior (any registered `model.prior`:
`standard`, `mog`, `vamp`, `flow`, ...), then modifiers:
  iaf    the IAF posterior (Kingma et al. 2016)
  hvae   two stochastic layers, `families.latent_dims` (Burda et al. 2016)
  iwae   trained on the IWAE bound with `families.iwae_samples` samples (Burda et al. 2016)
Combinations that are not defined (vamp+iaf, vamp+hvae, iaf+hvae) are refused by config
validation. `vq` is the conditional VQ-VAE (van den Oord et al. 2017; `models/vq_cvae.py`),
its codebook from `families.codebook_size`, `code_dim` and `codebook_update`. Each variant is one compiled sweep over beta x seeds on the same data, evaluated
with every diagnostic of `evaluation.members` (test ELBO, IWAE bound, the rate split, active
units, classifier accuracy of samples and swaps). Figures: samples per family, the
rate-distortion plane and the IWAE bound against the rate with one curve per family, and
each VampPrior's pseudo-inputs beside their decoded posterior centres.
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.core import latents
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import images as image_eval
from cvae_jax.evaluation.estimators import decode_mean
from cvae_jax.models import PRIORS
from cvae_jax.models.mixture_priors import pseudo_images
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, Variant, train_variants, variant
from cvae_jax.studies import family_plots, grid_plots
from cvae_jax.studies import sweep as sweep_study
from cvae_jax.studies.digits import train_judge


def _iaf(c, f):
    c.model.posterior = "iaf"


def _hvae(c, f):
    c.model.kind = "hierarchical"
    c.model.latent_dims = tuple(f.latent_dims)


def _iwae(c, f):
    c.objective.iwae_samples = int(f.iwae_samples)


MODIFIERS = {"iaf": _iaf, "hvae": _hvae, "iwae": _iwae}
CURVES = {
    "test_distortion": "distortion -E log p(x|z,y) (nats)",
    "test_iwae": "test IWAE bound on log p(x|y) (nats)",
}


def _vq(c, f):
    """The conditional VQ-VAE (van den Oord et al. 2017): latent_dim code vectors."""
    with c.model.unlocked():  # the kind's own keys (a launcher locks the config)
        c.model.update({"kind": "vq", "codebook_size": int(f.codebook_size),
                        "code_dim": int(f.code_dim), "codebook_update": f.codebook_update})  # fmt: skip


MODEL_KINDS = {"vq": _vq}  # variant names that set the model kind instead of a prior


def family_variant(config, name: str) -> Variant:
    """The config of one family: its prior, then each modifier applied in turn."""
    v = variant(config, name)
    prior, *modifiers = name.split("+")
    if prior in MODEL_KINDS:
        MODEL_KINDS[prior](v.config, config.families)
        return v
    v.config.model.prior = prior
    for m in modifiers:
        MODIFIERS[m](v.config, config.families)
    return v


def variants(config) -> list[Variant]:
    return [family_variant(config, name) for name in config.variants]


def check(config) -> None:
    for name in config.variants:
        prior, *modifiers = name.split("+")
        unknown = [m for m in modifiers if m not in MODIFIERS]
        if name in MODEL_KINDS:
            continue
        if prior not in PRIORS.names() or unknown:
            raise ConfigError(
                f"variants: {name!r} is not <prior>[+iaf][+hvae][+iwae] with a prior among "
                f"{', '.join(PRIORS.names())}, nor one of {', '.join(MODEL_KINDS)}."
            )


def _showcase(sweep) -> int:
    """The grid point whose beta is closest to 1 (the plain ELBO), for the image figures."""
    betas = np.asarray(sweep.hyper["beta"])
    return int(np.argmin(np.abs(betas - 1.0)))


def family_images(v, setup, sweep, per_label: int) -> dict:
    """Samples [L, per_label, D] of seed 0 at beta ~ 1, and for a VampPrior its pseudo-inputs
    and their decoded posterior centres [2, K, D]."""
    model, num_classes = setup.model, v.config.data.num_classes
    params = sweep.member_params(0, _showcase(sweep))
    key = jax.random.key(v.config.evaluation.seed)
    out = {"samples": image_eval.conditional_samples(model, params, key, num_classes, per_label)}
    if v.config.model.prior == "vamp":
        u = params["params"]["prior"]["pseudo_inputs"]  # [K, D]
        u = pseudo_images(u, v.config.model.pseudo_inputs)  # what the prior encodes
        labels = jnp.arange(u.shape[0]) % max(num_classes, 1)
        centre = latents.centre(model.apply(params, u, labels, method=model.encode))
        out["pseudo_inputs"] = np.stack(
            [np.clip(u, 0, 1), decode_mean(model, params, centre, labels)]
        )
    return jax.device_get(out)


def run(config, workdir: str) -> dict:
    start = time.perf_counter()
    given = config  # config.json holds it as given, so a rerun finds the same config
    config, splits = sweep_study.labelled_splits(config)
    classify, judge = train_judge(splits, config)
    rows, timings, pictures = [], {}, {}
    for v, setup, sweep in train_variants(variants(config), workdir, lambda v: splits.train):
        family_rows, eval_seconds = sweep_study.evaluate(
            v.config, setup, sweep, splits, classify, variant=v.name
        )  # the family's settings are columns too (rows.family_columns)
        rows += family_rows
        timings[v.name] = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds}
        pictures[v.name] = family_images(v, setup, sweep, config.figures.samples_per_label)
    title = f"{config.data.name}: {config.training.num_steps} steps, seeds x beta per family"
    for metric, label in CURVES.items():
        path = os.path.join(workdir, f"{metric.removeprefix('test_')}_vs_rate.png")
        grid_plots.against_rate(path, rows, metric, label, "variant", title)
    shape = splits.image_shape
    family_plots.samples(os.path.join(workdir, "samples.png"), pictures, shape, title)
    family_plots.pseudo_inputs(os.path.join(workdir, "vamp_pseudo_inputs.png"), pictures, shape)
    summary = {
        "data": sweep_study.data_summary(config, splits),
        "classifier": judge,
        "timings": timings,
        "table": family_table(rows),
        "total_seconds": time.perf_counter() - start,
    }
    results.write_csv(os.path.join(workdir, "families.csv"), summary["table"])
    return results.write_study(workdir, given, rows, summary)


TABLE = ("test_elbo", "test_iwae", "test_rate", "mi_zxy", "active_units", "conditional_accuracy")


def family_table(rows: list[dict]) -> list[dict]:
    """Per family and beta: the mean over seeds of the columns in TABLE."""
    table = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        for beta in sorted({r["beta"] for r in mine}):
            at = [r for r in mine if r["beta"] == beta]
            row = {"family": name, "beta": beta, "seeds": len(at)}
            for k in TABLE:
                values = [r[k] for r in at if r[k] is not None]
                row[k] = float(np.mean(values)) if values else None
            table.append(row)
    return table


def report(out: dict) -> list[str]:
    lines = [
        f"{r['family']:<22} beta={r['beta']:<5g} ELBO {r['test_elbo']:8.2f} IWAE "
        f"{r['test_iwae']:8.2f} rate {r['test_rate']:6.2f} I(Z;X,Y) {r['mi_zxy']:5.2f} "
        f"active {r['active_units']:4.1f}"
        for r in out["table"]
    ]
    return lines + [f"total {out['total_seconds']:.1f}s"]


STUDY = Study("families", variants, run, check, report)
