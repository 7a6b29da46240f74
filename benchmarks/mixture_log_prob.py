r"""The mixture priors' log density: two matrix products against distrax's broadcast form.

    python -m benchmarks.mixture_log_prob --rows=mog_1,vamp_1 --out=runs/bench   # ~5 min, 2 cores

`core.mixtures.SharedGaussianMixture.log_prob` computes sum_d (z_d - mu_kd)^2 / s_kd^2 as
two [.., Dz] x [Dz, K] matrix products; what a user would write instead is distrax's
`MixtureSameFamily.log_prob`, which broadcasts z against the K components. For each row of
the likelihood study (K = 500 components, its one-layer model) this times, both ways in the
same process with their calls alternating (--reps rounds):
  train  the row's sweep chunk, K = 1 member, --steps steps of batch 20: model-steps/s;
  eval   the importance-sampled -log p(x) of --test_images random binary images, k = --k:
         seconds.
Prints a table with the ratios; writes mixture_log_prob.json to --out.
"""

import contextlib
import json
import time
from pathlib import Path

import distrax
import jax
from absl import app, flags, logging

from benchmarks import machine, setups
from cvae_jax.core.mixtures import SharedGaussianMixture
from cvae_jax.runs import devices
from cvae_jax.studies import mnist_likelihood
from cvae_jax.training import runner
from cvae_jax.training.step import init_state, member_keys

_ROWS = flags.DEFINE_list("rows", ["mog_1", "vamp_1"], "Rows of the likelihood study.")
_STEPS = flags.DEFINE_integer("steps", 200, "Training steps per timed call.")
_REPS = flags.DEFINE_integer("reps", 3, "Timed calls per way; the median is reported.")
_K = flags.DEFINE_integer("k", 1000, "Importance samples per image in the eval rows.")
_IMAGES = flags.DEFINE_integer("test_images", 100, "Images in the eval rows.")
flags.DEFINE_integer("cpu_devices", 1, "XLA CPU devices; 0: one per core, as the launchers.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")

WAYS = ("matmul", "distrax")


@contextlib.contextmanager
def _log_prob(way: str):
    """While tracing: the library's log density, or distrax's broadcast one."""
    if way == "matmul":
        yield
        return
    ours = SharedGaussianMixture.log_prob
    SharedGaussianMixture.log_prob = distrax.MixtureSameFamily.log_prob
    try:
        yield
    finally:
        SharedGaussianMixture.log_prob = ours


def _eval_call(setup):
    params = init_state(setup.model, setup.optimizer, member_keys(0)[0], setup.data).params
    test = setups.likelihood_test_images(_IMAGES.value)
    estimate = mnist_likelihood.nll_estimate(setup, test, _K.value, 100, 0)
    stacked = jax.tree.map(lambda a: a[None, None], params)  # one member, [1, 1, ...]
    estimate(stacked)  # compiles, once

    def call() -> float:
        start = time.perf_counter()
        estimate(stacked)
        return time.perf_counter() - start

    return call


def time_row(row: str) -> dict:
    train, evaluate = {}, {}
    for way in WAYS:
        with _log_prob(way):
            config = setups.likelihood_row_config(row, 1, _STEPS.value)
            setup = runner.build_setup(config, setups.likelihood_data())
            train[way] = machine.prepared_chunk(setup).call
            evaluate[way] = _eval_call(setup)
    train_s = machine.interleaved_calls(train, _REPS.value)
    eval_s = machine.interleaved_calls(evaluate, _REPS.value)
    return {way: {"model_steps_per_s": _STEPS.value / train_s[way],
                  "eval_s": eval_s[way]} for way in WAYS}  # fmt: skip


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    results = {}
    for row in _ROWS.value:
        logging.info("%s ...", row)
        results[row] = time_row(row)
    print(f"{'row':<8} {'way':<8} {'train model-steps/s':>19} {'x distrax':>9} "
          f"{'eval s':>7} {'x distrax':>9}")  # fmt: skip
    for row, ways in results.items():
        ref = ways["distrax"]
        for way, r in ways.items():
            print(f"{row:<8} {way:<8} {r['model_steps_per_s']:>19,.1f} "
                  f"{r['model_steps_per_s'] / ref['model_steps_per_s']:>9.2f} {r['eval_s']:>7.2f} "
                  f"{ref['eval_s'] / r['eval_s']:>9.2f}")  # fmt: skip
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": _STEPS.value, "k": _K.value,
              "test_images": _IMAGES.value, "devices": [str(d) for d in jax.devices()],
              "rows": results}  # fmt: skip
    (out / "mixture_log_prob.json").write_text(json.dumps(report, indent=1, default=float))
    logging.info("wrote %s", out / "mixture_log_prob.json")


if __name__ == "__main__":
    app.run(main)
