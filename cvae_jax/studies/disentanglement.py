"""Disentanglement, measured on data with known factors, a whole beta x seed grid at once.

Three sweeps on the shapes (or dSprites) images, each one compiled call over its grid and
10 seeds: the beta-VAE (Higgins et al. 2017) over Locatello et al. (2019)'s betas;
controlled capacity (Burgess et al. 2018) over C_max; and a cVAE given the shape, whose z,
with a prior independent of y, should hold every factor but the shape (Beckham sec. 2.5).
Per member: the beta-VAE, FactorVAE, MIG and DCI scores of the encoder means against the
factors (`evaluation.disentanglement`), the rate, distortion and active units, and for the
cVAE I(Z;Y). Figures: every score against beta with the spread over seeds, and latent
traversals of the best and the worst seed at one beta.
"""

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax.core import diagnostics as diag
from cvae_jax.core import latents
from cvae_jax.data import shapes
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation import disentanglement as dis
from cvae_jax.evaluation.estimators import decode_mean, evaluate_members
from cvae_jax.evaluation.rows import member_rows
from cvae_jax.runs import results
from cvae_jax.runs.study import Study, check_variants, train_variants, variant
from cvae_jax.studies import disentanglement_plots as plots
from cvae_jax.training import runner

SCORES = ("beta_vae_score", "factor_vae_score", "mig", "dci_disentanglement")
VARIANTS = ("beta", "capacity", "cvae_shape")


def check(config) -> None:
    check_variants(config, VARIANTS)
    if config.evaluation.traversal_metric not in SCORES:
        raise ConfigError(
            f"evaluation.traversal_metric={config.evaluation.traversal_metric!r}; choose one "
            f"of {', '.join(SCORES)}."
        )


def disentanglement_variants(config):
    """beta: the beta-VAE grid; capacity: gamma |KL - C(t)| over C_max (beta 0); cvae_shape:
    the beta grid given the condition factor."""
    d, out = config.disentanglement, []
    for name in config.variants:
        v = variant(config, name)
        c = v.config
        c.sweep.betas = tuple(d.betas)
        if name == "capacity":
            c.sweep.betas = (0.0,)
            c.sweep.grid.capacity = tuple(d.capacity)
            c.objective.capacity_gamma = d.capacity_gamma
            c.objective.capacity_steps = d.capacity_steps
        if name == "cvae_shape":
            c.data.condition_factor = d.condition_factor
            c.data.num_classes = shapes.NUM_CLASSES[shapes.FACTOR_NAMES.index(d.condition_factor)]
        out.append(v)
    return out


def _codes_and_diagnostics(model, params, test, with_labels: bool, mi_examples: int):
    """Per member: encoder means [N, Dz], distortion, rate, active units (and I(Z;Y))."""
    key = jax.random.key(0)

    def member(p, x, y):
        terms = model.apply(p, x, y, key)
        q = model.apply(p, x, y, method=model.encode)
        codes = latents.centre(q)
        out = {
            "codes": codes,
            "test_distortion": jnp.mean(terms["distortion"]),
            "test_rate": jnp.mean(jnp.sum(terms["rate_groups"], -1)),
            "active_units": diag.active_units(codes),
        }
        if with_labels:
            n = min(mi_examples, x.shape[0])
            q_n = model.apply(p, x[:n], y[:n], method=model.encode)
            p_n = model.apply(p, y[:n], method=model.prior_distribution)
            out["mi_zy"] = diag.rate_split(key, q_n, p_n, y[:n])["mi_zy"]
        return out

    return evaluate_members(member, params, test.x, test.y)


def scores(codes, factors, e) -> dict:
    """The four scores of one member's codes [N, Dz] against factor classes [N, F]."""
    key, points = jax.random.key(e.seed), e.metric_points
    return {
        "beta_vae_score": dis.beta_vae_score(key, codes, factors, num_train=points,
                                             num_eval=points // 2),
        "factor_vae_score": dis.factor_vae_score(key, codes, factors, num_train=points,
                                                 num_eval=points // 2),
        "mig": dis.mig(key, codes, factors),
        "dci_disentanglement": dis.dci_disentanglement(key, codes, factors, num_train=points,
                                                       num_test=points // 2),
    }  # fmt: skip


def evaluate(config, setup, sweep, test, factors) -> dict:
    """{name: [S, H]} for every score and diagnostic, and the codes [S, H, N, Dz]."""
    e = config.evaluation
    conditioned = bool(config.data.condition_factor)
    out = _codes_and_diagnostics(setup.model, sweep.state.params, test, conditioned,
                                 e.mi_examples)  # fmt: skip
    S, H = out["codes"].shape[:2]
    per_member = [[scores(out["codes"][s, h], factors, e) for h in range(H)] for s in range(S)]
    for name in SCORES:
        out[name] = np.array([[m[name] for m in row] for row in per_member])
    return out


def _test_set(config, splits, test_factors):
    n = min(config.evaluation.examples, splits.test.x.shape[0])
    names = list(shapes.FACTOR_NAMES)
    keep = [i for i, f in enumerate(names) if f != config.data.condition_factor]
    test = type(splits.test)(splits.test.x[:n], splits.test.y[:n])
    return test, test_factors[:n][:, keep], [names[i] for i in keep]


def one_member_seconds(config, data) -> float:
    """Wall time of a one-member sweep of the same model: what one model at a time costs."""
    single = config.copy_and_resolve_references()
    single.sweep.num_seeds, single.sweep.betas = 1, (float(config.sweep.betas[0]),)
    single.sweep.grid.capacity = (float(single.sweep.grid.capacity[0]),)
    return runner.train_sweep(single, data)[1].seconds


def run(config, workdir: str) -> dict:
    start, e = time.perf_counter(), config.evaluation
    _SPLITS.clear()
    rows, timings, figures = [], {}, {}
    for v, setup, sweep in train_variants(disentanglement_variants(config), workdir,
                                          lambda v: _splits(v)[0].train):  # fmt: skip
        splits, _, test_factors = _splits(v)
        test, factors, names = _test_set(v.config, splits, test_factors)
        t = time.perf_counter()
        out = evaluate(v.config, setup, sweep, test, factors)
        eval_seconds = time.perf_counter() - t
        metrics = {k: a for k, a in out.items() if k != "codes"}
        beta_norm = {"beta_norm": np.asarray(sweep.hyper["beta"]) * v.config.model.latent_dim
                     / test.x.shape[1]}  # fmt: skip  # Higgins et al.'s beta K / N
        new = member_rows(sweep, metrics, variant=v.name, factors=" ".join(names),
                          eval_seconds=eval_seconds, train_seconds=sweep.seconds)  # fmt: skip
        for i, row in enumerate(new):
            row["beta_norm"] = float(beta_norm["beta_norm"][i % len(sweep.hyper["beta"])])
        rows += new
        timings[v.name] = {"train_seconds": sweep.seconds, "eval_seconds": eval_seconds,
                           "members": int(np.size(sweep.state.step))}  # fmt: skip
        if e.time_one_member:
            timings[v.name]["one_member_seconds"] = one_member_seconds(v.config, splits.train)
        figures[v.name] = plots.traversal_members(new, sweep, e)
        plots.traversals(os.path.join(workdir, f"traversals_{v.name}.png"), setup.model,
                         sweep, figures[v.name], test, splits.image_shape, decode_mean)  # fmt: skip
        logging.info("%s: trained in %.0fs, evaluated in %.0fs", v.name, sweep.seconds,
                     eval_seconds)  # fmt: skip
    plots.scores_vs_axis(os.path.join(workdir, "scores.png"), rows, SCORES)
    summary = {"timings": timings, "scores": list(SCORES),
               "total_seconds": time.perf_counter() - start}  # fmt: skip
    return results.write_study(workdir, config, rows, summary)


_SPLITS = {}  # variant name -> (Splits, train factors, test factors): drawn once per run


def _splits(v):
    if v.name not in _SPLITS:
        _SPLITS[v.name] = shapes.shapes_with_factors(v.config.data)
    return _SPLITS[v.name]


def report(out: dict) -> list[str]:
    lines = []
    for name, t in out["timings"].items():
        one = t.get("one_member_seconds")
        lines.append(
            f"{name}: {t['members']} members trained in {t['train_seconds']:.0f}s"
            + (
                f" (one member alone: {one:.0f}s, x{t['members']} = {one * t['members']:.0f}s)"
                if one
                else ""
            )  # fmt: skip
        )
    return lines + [f"total {out['total_seconds']:.0f}s"]


STUDY = Study("disentanglement", disentanglement_variants, run, check=check, report=report)
