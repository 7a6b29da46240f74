r"""How many samples each -log p(x|c) estimator of the quadrant study needs (Sohn et al. 2015).

    python -m benchmarks.quadrant_estimators --workdir=runs/q_pyro_mnist --ks=100,1000,5000

Reads a finished quadrants run (its config.json and checkpoints: the cVAE is not trained; the
baseline is refitted, as a rerun of the study does, for the fed condition) and, for
each setting and member, estimates -log p(x|c) on the first --examples test images with
  mc  Sohn et al.'s Monte Carlo estimate, z_k ~ p(z|c) from the prior network;
  is  their importance-sampling estimate, z_k ~ q(z|x,c) (the IWAE bound of Burda et al.),
at every K of --ks, one fixed key per estimator, so a row differs from the last only in K.
Both are stochastic upper bounds on -log p(x|c) that fall towards it as K grows; the table
shows how far each is from converged, and the seconds each K costs. Prints a markdown table
and writes quadrant_estimators.csv to the workdir.
"""

import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
from absl import app, flags

from cvae_jax.data import load_splits
from cvae_jax.evaluation import estimators
from cvae_jax.runs import results
from cvae_jax.runs.study import train_variants
from cvae_jax.studies import quadrants

_WORKDIR = flags.DEFINE_string("workdir", None, "A finished quadrants run.", required=True)
_KS = flags.DEFINE_list("ks", ["100", "1000", "5000"], "Samples per test image.")
_EXAMPLES = flags.DEFINE_integer("examples", 500, "Test images (the first N).")


def estimates(model, params, test, k: int) -> dict:
    """{'mc', 'is'}: each member's mean estimate [S, H] at K = k, and its seconds."""
    mc_key, is_key = jax.random.split(jax.random.key(0))

    def member(p, x, c):
        return {
            "mc": jnp.mean(estimators.prior_sampling_nll(mc_key, model, p, x, c, k)),
            "is": jnp.mean(estimators.recognition_nll(is_key, model, p, x, c, k)),
        }

    start = time.perf_counter()
    out = estimators.evaluate_members(member, params, test.x, test.y)
    return {**out, "seconds": time.perf_counter() - start}


def main(argv):
    del argv
    workdir = _WORKDIR.value
    with open(os.path.join(workdir, "config.json")) as f:
        config = ml_collections.ConfigDict(json.load(f))
    if "quadrant_order" not in config:  # its masks are unknown: see data/quadrants.py
        raise SystemExit(
            f"error: {workdir}/config.json predates quadrant_order (2026-11-27), so its masks "
            "are unknown; rerun the study there with today's code, or use a newer run."
        )
    splits, settings = load_splits(config.data), {}

    def data_for(v):  # the study's own data (its baseline retrained, as a rerun does)
        settings[v.name] = quadrants.prepare_setting(config, splits, v.value)
        return settings[v.name].cvae_train

    rows = []
    for v, setup, sweep in train_variants(quadrants.quadrant_variants(config), workdir, data_for):
        cvae_test = settings[v.name].cvae_test
        test = type(cvae_test)(cvae_test.x[: _EXAMPLES.value], cvae_test.y[: _EXAMPLES.value])
        for k in map(int, _KS.value):
            out = estimates(setup.model, sweep.state.params, test, k)
            for i, point in enumerate(sweep.rows()):
                s, h = divmod(i, len(sweep.hyper["beta"]))
                rows.append({
                    "observed_quadrants": v.value, "hybrid_alpha": point["hybrid_alpha"],
                    "seed": point["seed"], "examples": int(test.x.shape[0]), "k": k,
                    "nll_mc": float(out["mc"][s, h]), "nll_is": float(out["is"][s, h]),
                    "seconds": out["seconds"],
                })  # fmt: skip
            print(_line(rows[-1]), flush=True)
    results.write_csv(os.path.join(workdir, "quadrant_estimators.csv"), rows)
    print("| observed | alpha | seed | K | MC, z ~ p(z|c) | IS, z ~ q(z|x,c) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(_line(r))


def _line(r: dict) -> str:
    return (
        f"| {r['observed_quadrants']} | {r['hybrid_alpha']:g} | {r['seed']} | {r['k']} | "
        f"{r['nll_mc']:.2f} | {r['nll_is']:.2f} | {r['seconds']:.1f} |"
    )


if __name__ == "__main__":
    app.run(main)
