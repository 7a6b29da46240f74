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
from pathlib import Path

import numpy as np
from absl import app, flags

from benchmarks import machine
from cvae_jax.config import base_config
from cvae_jax.training import runner

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


def measure(K: int) -> list[dict]:
    """Both layouts, their timed calls interleaved so that the machine's drift hits both."""
    runs = {layout: machine.prepared_chunk(runner.build_setup(sweep_config(K, layout)))
            for layout in ("betas", "grid")}  # fmt: skip
    seconds = machine.interleaved_calls({name: run.call for name, run in runs.items()}, _REPS.value)
    return [
        {"K": K, "layout": layout, "compile_s": run.compile_s,
         "model_steps_per_s": run.members * _STEPS.value / seconds[layout]}
        for layout, run in runs.items()
    ]  # fmt: skip


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
