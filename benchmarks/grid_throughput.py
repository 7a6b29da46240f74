r"""Does a 2-D grid cost more per member than a beta-only sweep of the same size? One run.

    python -m benchmarks.grid_throughput --out=runs/bench          # ~1 min on 2 CPU cores

For each K, the toy sweep (cvae_jax.config.base_config, one seed) with K members laid out
  betas  K betas, one capacity;
  grid   sqrt(K) betas x sqrt(K) capacities (C_max) x the same seed,
both with the capacity term on (gamma = 1) so the two compute the same objective. The timed
calls of the two layouts alternate. Prints a table of model-steps/s (median of --reps calls
of --steps steps) and compile time, and the grid/betas ratio; writes grid_throughput.json to --out.
"""

import json
import math
import time
from pathlib import Path

import jax
import numpy as np
from absl import app, flags

from benchmarks import machine
from cvae_jax.config import base_config
from cvae_jax.training import runner
from cvae_jax.training.sweep import init_sweep

_KS = flags.DEFINE_list("ks", ["16", "64", "256"], "Members per sweep (perfect squares).")
_STEPS = flags.DEFINE_integer("steps", 200, "Training steps per compiled call.")
_REPS = flags.DEFINE_integer("reps", 5, "Timed calls per row; the median is reported.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")


def sweep_config(K: int, layout: str):
    config = base_config()
    config.training.log_every = _STEPS.value
    config.sweep.num_seeds = 1
    config.objective.capacity_gamma = 1.0
    side = math.isqrt(K)
    if layout == "betas":
        config.sweep.betas = tuple(np.linspace(0.01, 2.0, K).tolist())
    else:
        config.sweep.betas = tuple(np.linspace(0.01, 2.0, side).tolist())
        config.sweep.grid.capacity = tuple(np.linspace(0.0, 4.0, K // side).tolist())
    return config


def prepared(K: int, layout: str):
    """(compiled chunk, its arguments, members, compile seconds) of one layout."""
    setup = runner.build_setup(sweep_config(K, layout))
    num_points = len(setup.hyper["beta"])
    state, keys = init_sweep(setup.model, setup.optimizer, setup.seeds, num_points, setup.data)
    data = jax.tree.map(jax.numpy.asarray, setup.data)
    start = time.perf_counter()
    chunk = setup.sweep_chunk.prepare(state, data, keys, setup.hyper)
    compile_s = time.perf_counter() - start
    state, _ = jax.block_until_ready(chunk(state, data, keys, setup.hyper))  # warm-up
    return chunk, [state, data, keys, setup.hyper], num_points, compile_s


def measure(K: int) -> list[dict]:
    """Both layouts, their timed calls interleaved so that the machine's drift hits both."""
    runs = {layout: prepared(K, layout) for layout in ("betas", "grid")}
    times = {layout: [] for layout in runs}
    for _ in range(_REPS.value):
        for layout, (chunk, args, _, _) in runs.items():
            start = time.perf_counter()
            args[0], _ = jax.block_until_ready(chunk(*args))
            times[layout].append(time.perf_counter() - start)
    return [
        {
            "K": K,
            "layout": layout,
            "model_steps_per_s": members * _STEPS.value / float(np.median(times[layout])),
            "compile_s": compile_s,
        }
        for layout, (_, _, members, compile_s) in runs.items()
    ]


def main(argv):
    del argv
    rows = [row for K in _KS.value for row in measure(int(K))]
    print(f"{'K':>5} {'layout':<6} {'model-steps/s':>14} {'compile s':>10} {'grid/betas':>11}")
    for betas, grid in zip(rows[::2], rows[1::2], strict=True):
        ratio = grid["model_steps_per_s"] / betas["model_steps_per_s"]
        for row in (betas, grid):
            cell = f"{ratio:11.2f}" if row is grid else ""
            print(
                f"{row['K']:>5} {row['layout']:<6} {row['model_steps_per_s']:>14,.0f} "
                f"{row['compile_s']:>10.2f} {cell}"
            )
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": _STEPS.value, "rows": rows}
    (out / "grid_throughput.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    app.run(main)
