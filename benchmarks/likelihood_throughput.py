r"""The MNIST likelihood benchmark's model: training throughput and the k = 5,000 evaluation.

    python -m benchmarks.likelihood_throughput --out=runs/bench

The one-layer model of configs/mnist_likelihood.py (784-200-200-50, tanh, Bernoulli, batch
20, dynamic binarisation, unconditional). Training rows, model-steps/s (median of --reps
calls of --steps steps), each with its ratio to the PyTorch row:
  sweep      the library's sweep chunk for K members (K seeds, `lax.scan`);
  jit_step   the single-model jitted step called from Python (K = 1);
  torch      the same model as an idiomatic PyTorch loop (default threads; K sequential runs
             have this same model-steps/s).
Evaluation rows: seconds of the importance-sampled -log p(x) with --k samples on
--test_images images, ours (jitted, blocks of 128 samples) against the same estimator in
PyTorch (batched over samples), and the matmul FLOPs of ours from its layer sizes (the
encoder once per image, the decoder once per sample; XLA's own count, which takes a loop
body once, is in the JSON as xla_flops). Writes
likelihood_throughput.json to --out; torch rows appear where torch imports.
"""

import json
import time
from pathlib import Path

import jax
from absl import app, flags, logging

from benchmarks import machine, setups
from cvae_jax.evaluation import estimators
from cvae_jax.runs import devices
from cvae_jax.training import runner
from cvae_jax.training.step import init_state, member_keys

_KS = flags.DEFINE_list("ks", ["1", "8"], "Sweep sizes K.")
_STEPS = flags.DEFINE_integer("steps", 500, "Training steps per compiled call.")
_REPS = flags.DEFINE_integer("reps", 3, "Timed calls per row; the median is reported.")
_K = flags.DEFINE_integer("k", 5000, "Importance samples per test image.")
_IMAGES = flags.DEFINE_integer("test_images", 1000, "Test images in the evaluation rows.")
flags.DEFINE_integer("cpu_devices", 0, "XLA CPU devices; 0: one per core, as the launchers.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")

BATCH, EVAL_BATCH = 20, 100


def _setup(K: int):
    return runner.build_setup(setups.likelihood_config(K, _STEPS.value), setups.likelihood_data())


def time_sweep(K: int) -> dict:
    setup = _setup(K)
    return machine.time_sweep_chunk(setup, setup.sweep_chunk.prepare, _STEPS.value, _REPS.value)


def time_jit_step() -> dict:
    setup = _setup(1)
    return machine.time_jit_step(setup, BATCH, _STEPS.value, _REPS.value)


def time_evaluation() -> dict:
    setup = _setup(1)
    params = init_state(setup.model, setup.optimizer, member_keys(0)[0], setup.data).params
    test = setups.likelihood_test_images(_IMAGES.value)

    def nll(params, x, y):
        def batch(xb, yb):
            bound = estimators.iwae_bound(jax.random.key(0), setup.model, params, xb, yb, _K.value)
            return {"nll": -bound}

        return estimators.in_batches(batch, x, y, EVAL_BATCH)["nll"].mean()

    compiled = jax.jit(nll).lower(params, test.x, test.y).compile()
    # XLA's count takes each loop body once (the k samples are drawn in a loop of blocks),
    # so it is reported beside the matmul count from the layer sizes.
    xla_flops = (compiled.cost_analysis() or {}).get("flops", float("nan"))
    layer = lambda part: sum(i * o for i, o in machine.dense_kernels(params["params"][part]))  # noqa: E731
    flops = 2 * _IMAGES.value * (layer("encoder") + _K.value * layer("decoder"))
    jax.block_until_ready(compiled(params, test.x, test.y))  # warm
    start = time.perf_counter()
    jax.block_until_ready(compiled(params, test.x, test.y))
    return {"seconds": time.perf_counter() - start, "flops": flops, "xla_flops": xla_flops}


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    rows = []
    for K in (int(k) for k in _KS.value):
        logging.info("sweep K=%d ...", K)
        rows.append({"row": "sweep", "K": K, **time_sweep(K)})
    rows.append({"row": "jit_step", "K": 1, **time_jit_step()})
    torch_train = machine.torch_json("from benchmarks import torch_models; print(torch_models."
                             f"burda_loop({BATCH}, {_STEPS.value}, 0))")  # fmt: skip
    if torch_train:
        rows.append({"row": "torch", "K": 1, **torch_train})
    ref = torch_train["model_steps_per_s"] if torch_train else float("nan")
    print(f"{'row':<9} {'K':>3} {'model-steps/s':>13} {'compile s':>9} {'x torch':>8}")
    for r in rows:
        print(f"{r['row']:<9} {r['K']:>3} {r['model_steps_per_s']:>13,.0f} "
              f"{r.get('compile_s', float('nan')):>9.2f} {r['model_steps_per_s'] / ref:>8.2f}")  # fmt: skip
    ours = time_evaluation()
    theirs = machine.torch_json("from benchmarks import torch_models; print(torch_models."
                        f"burda_importance_sampling({_IMAGES.value}, {_K.value}, 128, "
                        f"{EVAL_BATCH}))")  # fmt: skip
    print(f"-log p(x), k={_K.value}, {_IMAGES.value} images: ours {ours['seconds']:.1f} s "
          f"({ours['flops'] / 1e12:.2f} TFLOP, {ours['flops'] / ours['seconds'] / 1e9:.0f} "
          f"GFLOP/s), torch {theirs['seconds'] if theirs else float('nan'):.1f} s")  # fmt: skip
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": _STEPS.value, "batch": BATCH,
              "devices": [str(d) for d in jax.devices()], "rows": rows,
              "evaluation": {"ours": ours, "torch": theirs, "k": _K.value,
                             "test_images": _IMAGES.value}}  # fmt: skip
    (out / "likelihood_throughput.json").write_text(json.dumps(report, indent=1, default=float))
    logging.info("wrote %s", out / "likelihood_throughput.json")


if __name__ == "__main__":
    app.run(main)
