r"""Model-steps per second of a K-member sweep on the toy cVAE, against the machine's limits.

    python -m benchmarks.sweep_throughput --out=runs/bench            # ~3 min on 2 CPU cores
    python -m benchmarks.sweep_throughput --ks=1,64,1024,4096 --steps=200 --reps=5

Toy: two-Gaussian data, batch 256, one hidden layer of 64, 2-D latent, Adam (cvae_jax.config.base_config).
Rows per K (K members: K betas of one seed, or K seeds with --layout=seeds):
  sweep       the library's sweep chunk (cache-sized groups, shared step, sharded);
  plain_vmap  jit(vmap(vmap(scan))) over all K members at once (the engine before cache-sized groups);
  sequential  the same single-model jitted step called K times in sequence from Python.
Prints a table; writes sweep_throughput.json and sweep_throughput.png to --out.
--cpu_devices=N makes N XLA host devices (default 0: one per core, as the launchers); the sweep row is sharded over them.
"""

import json
import os
import sys
import time
from pathlib import Path


def _prng_impl_from_argv(argv):
    """--prng_impl must act before jax is imported."""
    for arg in argv:
        name, _, value = arg.partition("=")
        if name == "--prng_impl" and value:
            os.environ["JAX_DEFAULT_PRNG_IMPL"] = value


_prng_impl_from_argv(sys.argv)

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from benchmarks import machine, report  # noqa: E402
from cvae_jax.config import base_config  # noqa: E402
from cvae_jax.data import sample_batch  # noqa: E402
from cvae_jax.runs import devices  # noqa: E402
from cvae_jax.training import runner  # noqa: E402
from cvae_jax.training.step import init_state, make_train_step, member_keys  # noqa: E402
from cvae_jax.training.sweep import make_plain_sweep_chunk  # noqa: E402

_KS = flags.DEFINE_list("ks", ["1", "8", "64", "256", "1024"], "Sweep sizes K.")
_STEPS = flags.DEFINE_integer("steps", 100, "Training steps per compiled call.")
_REPS = flags.DEFINE_integer("reps", 3, "Timed calls per row; the median is reported.")
_ROWS = flags.DEFINE_list("rows", ["sweep", "plain_vmap", "sequential"], "Rows to measure.")
_LAYOUT = flags.DEFINE_enum("layout", "betas", ["betas", "seeds"], "K betas of 1 seed, or K seeds.")
_GROUP = flags.DEFINE_integer("group_size", 0, "sweep.group_size (0: automatic).")
_SEQ_CALLS = flags.DEFINE_integer("seq_calls", 2000, "Calls timed for the sequential row.")
_PLAIN_MAX = flags.DEFINE_integer("plain_max_k", 1024, "Largest K for the plain_vmap row.")
flags.DEFINE_integer("cpu_devices", 0, "XLA CPU devices; 0: one per core, as the launchers.")
flags.DEFINE_string("prng_impl", "", "jax_default_prng_impl, e.g. rbg (changes the numbers).")
_TORCH = flags.DEFINE_bool("torch", True, "Add a PyTorch single-model row if torch imports.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")


def toy_config(K: int):
    config = base_config()
    config.training.log_every = _STEPS.value
    config.sweep.group_size = _GROUP.value
    seeds, betas = (K, 1) if _LAYOUT.value == "seeds" else (1, K)
    config.sweep.num_seeds = seeds
    config.sweep.betas = tuple(np.linspace(0.01, 2.0, betas).tolist())
    return config


def time_chunk(setup, compile_fn) -> dict:
    return machine.time_sweep_chunk(setup, compile_fn, _STEPS.value, _REPS.value)


def single_step(setup, batch_size: int):
    """The scan body of `training.step.make_train_chunk` for one model: draw a batch, take a step."""
    train_step = make_train_step(setup.model, setup.optimizer)

    def step(state, data, train_key, hyper):
        batch_key, sample_key = jax.random.split(jax.random.fold_in(train_key, state.step))
        batch = sample_batch(batch_key, data, batch_size)
        return train_step(state, batch, sample_key, hyper)[0]

    return step


def time_sequential(setup, K: int, batch_size: int) -> dict:
    """The single-model jitted step called member after member, one call per model-step."""
    step = jax.jit(single_step(setup, batch_size), donate_argnums=0)
    init_key, train_key = member_keys(0)
    first = init_state(setup.model, setup.optimizer, init_key, setup.data)
    states = [jax.tree.map(jax.numpy.copy, first) for _ in range(K)]
    hyper = {k: v[0] for k, v in setup.hyper.items()}
    data = jax.tree.map(jax.numpy.asarray, setup.data)
    start = time.perf_counter()
    states[0] = jax.block_until_ready(step(states[0], data, train_key, hyper))
    compile_s = time.perf_counter() - start
    calls = max(K, _SEQ_CALLS.value)  # K members x (calls / K) steps each
    rates = []
    for _ in range(_REPS.value):
        start = time.perf_counter()
        for i in range(calls):  # the loop this row measures: one Python dispatch per model-step
            states[i % K] = step(states[i % K], data, train_key, hyper)
        jax.block_until_ready(states)
        rates.append(calls / (time.perf_counter() - start))
    return {"model_steps_per_s": float(np.median(rates)), "compile_s": compile_s, "calls": calls}


def measure(K: int, row: str) -> dict:
    config = toy_config(K)
    setup = runner.build_setup(config)
    if row == "sequential":
        return time_sequential(setup, K, config.training.batch_size)
    if row == "sweep":
        chunk = setup.sweep_chunk
        out = time_chunk(setup, chunk.prepare)
        out["xla_planned_mb"] = report.planned_mb(chunk)
        out["group_size"], out["devices"] = chunk.group_size, len(chunk.devices)
        return out
    plain, compiled = make_plain_sweep_chunk(setup.train_chunk), []
    out = time_chunk(
        setup, lambda *args: compiled.append(plain.lower(*args).compile()) or compiled[0]
    )
    out["xla_planned_mb"] = report.executable_mb(compiled[0])
    return out


def step_costs() -> dict:
    """FLOPs and bytes of one model-step: analytic, and XLA's count of the jitted step."""
    config = toy_config(1)
    setup = runner.build_setup(config)
    init_key, train_key = member_keys(0)
    state = init_state(setup.model, setup.optimizer, init_key, setup.data)
    hyper = {k: v[0] for k, v in setup.hyper.items()}
    data = jax.tree.map(jax.numpy.asarray, setup.data)
    step = single_step(setup, config.training.batch_size)
    data_inputs = setup.data.x.shape[1] + config.data.num_classes
    return {
        "analytic": machine.analytic_flops_per_step(state.params, 256, data_inputs),
        "xla": machine.xla_step_cost(step, state, data, train_key, hyper),
        "kernels": machine.dense_kernels(state.params),
    }


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    results = {"machine": machine.machine_report(), "step": step_costs(), "rows": []}
    names = ["ks", "steps", "reps", "rows", "layout", "group_size", "cpu_devices", "prng_impl"]
    results["flags"] = {name: flags.FLAGS[name].value for name in names}
    for K in [int(k) for k in _KS.value]:
        for row in _ROWS.value:
            if row == "plain_vmap" and K > _PLAIN_MAX.value:
                continue
            logging.info("K=%d %s ...", K, row)
            entry = {"K": K, "row": row, **measure(K, row)}
            entry["peak_mb"], results["peak_mb_source"] = machine.peak_memory_mb(jax.devices()[0])
            results["rows"].append(entry)
    results["references"] = []
    if _TORCH.value:  # default threads, and one thread (faster for ops this small)
        for threads, name in [(0, "torch"), (1, "torch_1thr")]:
            row = report.torch_row(_SEQ_CALLS.value, threads)
            if row is not None:
                results["references"].append({"K": 1, "row": name, **row})
    report.add_roofline(results)
    print(report.table(results))
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep_throughput.json").write_text(json.dumps(results, indent=1, default=float))
    report.plot(results, out / "sweep_throughput.png")
    logging.info("wrote %s", out / "sweep_throughput.{json,png}")


if __name__ == "__main__":
    app.run(main)
