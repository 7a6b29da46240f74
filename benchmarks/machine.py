"""What the machine can do, measured the same way the sweep is run: jitted JAX programs.

- arithmetic peak: a large float32 matmul (GFLOP/s);
- memory bandwidth: an in-place (donated) `x * a + b` over a large array (read + write),
  once far beyond the last-level cache (DRAM) and once at a size that fits in it;
- FLOPs and bytes of one model-step: analytic from the layer sizes, and XLA's own count
  (`cost_analysis`) of one jitted single-member step, which has no loops in it.
"""

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cvae_jax.data import sample_batch
from cvae_jax.training.step import init_state, make_train_step, member_keys
from cvae_jax.training.sweep import init_sweep


def median_seconds(fn, *args, reps: int) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_gflops(n: int = 2048, reps: int = 7) -> float:
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    seconds = median_seconds(jax.jit(jnp.matmul), a, a, reps=reps)
    return 2 * n**3 / seconds / 1e9


def stream_gbps(mib: float, reps: int = 9) -> float:
    """Bytes read + written per second by a donated elementwise update of `mib` MiB."""
    n = int(mib * 2**20 / 4)
    update = jax.jit(lambda x: x * 1.0000001 + 1e-7, donate_argnums=0)
    x = update(jnp.ones(n, jnp.float32))
    times = []
    for _ in range(reps + 1):
        start = time.perf_counter()
        x = jax.block_until_ready(update(x))
        times.append(time.perf_counter() - start)
    return 2 * n * 4 / float(np.median(times[1:])) / 1e9


def dense_kernels(params) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of every 2-D weight matrix in a parameter tree."""
    return [tuple(a.shape) for a in jax.tree.leaves(params) if np.ndim(a) == 2]


def analytic_flops_per_step(params, batch_size: int, data_inputs: int) -> dict:
    """Matmul FLOPs of one training step of one model, from its layer sizes.

    Forward 2*B*in*out per layer; backward the same again for the weight gradient and for
    the input gradient, except for the one layer fed by the data alone (the encoder's first,
    `data_inputs` wide), whose input needs no gradient. Elementwise work is not counted.
    """
    kernels = dense_kernels(params)
    forward = sum(2 * batch_size * i * o for i, o in kernels)
    data_fed = next((2 * batch_size * i * o for i, o in kernels if i == data_inputs), 0)
    return {"forward": forward, "train_step": 3 * forward - data_fed}


def xla_step_cost(step_fn, *args) -> dict:
    """XLA's FLOPs and bytes accessed for one call of `step_fn` (a loop-free program)."""
    cost = jax.jit(step_fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    return {
        "flops": float(cost.get("flops", np.nan)),
        "bytes": float(cost.get("bytes accessed", np.nan)),
    }


def peak_memory_mb(device) -> tuple[float, str]:
    """Device peak bytes in use if the backend reports it, else the process's peak RSS."""
    stats = device.memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return stats["peak_bytes_in_use"] / 2**20, "device peak_bytes_in_use"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10, "process peak RSS"


def machine_report(dram_mib: float = 512, cache_mib: float = 8, reps: int = 7) -> dict:
    return {
        "device": str(jax.devices()[0].device_kind),
        "platform": jax.devices()[0].platform,
        "num_devices": jax.device_count(),
        "matmul_gflops": matmul_gflops(reps=reps),
        "dram_gbps": stream_gbps(dram_mib, reps=reps),
        "cache_gbps": stream_gbps(cache_mib, reps=max(reps, 21)),
        "cache_mib": cache_mib,
    }


class PreparedChunk(NamedTuple):
    call: Callable[[], float]  # one timed call of the compiled chunk; returns its seconds
    members: int
    compile_s: float


def prepared_chunk(setup, compile_fn=None) -> PreparedChunk:
    """A setup's sweep chunk compiled (by `compile_fn(args)`, default the library's) and
    warmed up, as a timed call that carries its state from call to call."""
    num_points = len(setup.hyper["beta"])
    state, keys = init_sweep(setup.model, setup.optimizer, setup.seeds, num_points, setup.data)
    data = jax.tree.map(jax.numpy.asarray, setup.data)
    start = time.perf_counter()
    chunk = (compile_fn or setup.sweep_chunk.prepare)(state, data, keys, setup.hyper)
    compile_s = time.perf_counter() - start
    args = [jax.block_until_ready(chunk(state, data, keys, setup.hyper))[0]]  # warm-up

    def call() -> float:
        start = time.perf_counter()
        args[0], _ = jax.block_until_ready(chunk(args[0], data, keys, setup.hyper))
        return time.perf_counter() - start

    return PreparedChunk(call, len(setup.seeds) * num_points, compile_s)


def time_sweep_chunk(setup, compile_fn, steps: int, reps: int) -> dict:
    """`compile_fn(args)` -> a callable, timed; then the median of `reps` timed calls."""
    run = prepared_chunk(setup, compile_fn)
    times = [run.call() for _ in range(reps)]
    return {"model_steps_per_s": run.members * steps / float(np.median(times)),
            "compile_s": run.compile_s, "call_s": times}  # fmt: skip


def interleaved_calls(calls: dict, reps: int) -> dict:
    """Median seconds of each timed call, the calls alternating so drift hits them alike."""
    times = {name: [] for name in calls}
    for _ in range(reps):
        for name, call in calls.items():
            times[name].append(call())
    return {name: float(np.median(t)) for name, t in times.items()}


def time_jit_step(setup, batch_size: int, steps: int, reps: int) -> dict:
    """The single-model step (batch draw + update) jitted and called once per step from
    Python: what a user writes without the sweep. Model-steps/s (median) and compile s."""
    train_step = make_train_step(setup.model, setup.optimizer)
    init_key, train_key = member_keys(0)
    hyper = {k: v[0] for k, v in setup.hyper.items()}
    device_data = jax.tree.map(jax.numpy.asarray, setup.data)

    @jax.jit
    def step(state):
        batch_key, sample_key = jax.random.split(jax.random.fold_in(train_key, state.step))
        batch = sample_batch(batch_key, device_data, batch_size)
        return train_step(state, batch, sample_key, hyper)[0]

    state = init_state(setup.model, setup.optimizer, init_key, setup.data)
    start = time.perf_counter()
    state = jax.block_until_ready(step(state))
    compile_s = time.perf_counter() - start
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(steps):
            state = step(state)
        jax.block_until_ready(state)
        rates.append(steps / (time.perf_counter() - start))
    return {"model_steps_per_s": float(np.median(rates)), "compile_s": compile_s}


def torch_json(code: str) -> dict | None:
    """Runs `code` (which prints one JSON line) in a fresh process, so that XLA's worker
    threads do not compete with torch's; None if torch is not installed."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        if "No module named 'torch'" not in proc.stderr:
            print(proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])
