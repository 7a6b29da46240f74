r"""Which CPU group size suits this machine? The toy sweep at several `sweep.group_size`, one run.

    python -m benchmarks.group_size --ks=64,256 --groups=1,2,4,8,16     # ~3 min on 2 CPU cores
    python -m benchmarks.group_size --model=likelihood --ks=8 --groups=1,2,4,8 --steps=200

On CPU a sweep trains its members `group_size` at a time so that one group's activations
stay in cache (training/layout.py). The best size depends on the model and on the cache
left to this process (other tenants of a VM share it), so this benchmark measures it: for
each K it compiles the toy sweep (K betas of one seed) or the MNIST likelihood model (K
seeds; `--model`, benchmarks/setups.py) once per group size and alternates their timed calls, so that the machine's drift hits every
size alike. Prints model-steps/s (median of --reps calls of --steps steps), compile seconds
and the ratio to the library's default; writes group_size.json to --out.
"""

import json
from pathlib import Path

import jax
from absl import app, flags

from benchmarks import machine, setups
from cvae_jax.runs import devices
from cvae_jax.training import layout, runner

_KS = flags.DEFINE_list("ks", ["64", "256"], "Members per sweep.")
_GROUPS = flags.DEFINE_list("groups", ["1", "2", "4", "8", "16"], "Group sizes to compare.")
_STEPS = flags.DEFINE_integer("steps", 500, "Training steps per compiled call.")
_REPS = flags.DEFINE_integer("reps", 5, "Timed calls per group size; the median is reported.")
flags.DEFINE_integer("cpu_devices", 0, "XLA CPU devices; 0: one per core, as the launchers.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")
_MODEL = flags.DEFINE_enum(
    "model", "toy", ["toy", "likelihood"],
    "toy: the toy study's sweep (K betas); likelihood: the MNIST likelihood benchmark's model "
    "(K seeds, benchmarks/setups.py).",
)  # fmt: skip


def model_setup(K: int, group_size: int):
    if _MODEL.value == "toy":
        config, data = setups.toy_config(K, _STEPS.value), None
    else:
        config, data = setups.likelihood_config(K, _STEPS.value), setups.likelihood_data()
    config.sweep.group_size = group_size
    return runner.build_setup(config, data)


def measure(K: int) -> list[dict]:
    runs = {g: machine.prepared_chunk(model_setup(K, g)) for g in map(int, _GROUPS.value)}
    seconds = machine.interleaved_calls({g: run.call for g, run in runs.items()}, _REPS.value)
    return [
        {"K": K, "group_size": g, "compile_s": run.compile_s,
         "model_steps_per_s": run.members * _STEPS.value / seconds[g]}
        for g, run in runs.items()
    ]  # fmt: skip


def table(rows: list[dict]) -> str:
    default = layout.CPU_GROUP_SIZE
    lines = [f"{'K':>5} {'group':>5} {'model-steps/s':>14} {'compile s':>10} {'x default':>10}"]
    for K in dict.fromkeys(r["K"] for r in rows):
        ref = next((r for r in rows if r["K"] == K and r["group_size"] == default), None)
        for r in (r for r in rows if r["K"] == K):
            ratio = r["model_steps_per_s"] / ref["model_steps_per_s"] if ref else float("nan")
            lines.append(
                f"{K:>5} {r['group_size']:>5} {r['model_steps_per_s']:>14,.0f} "
                f"{r['compile_s']:>10.2f} {ratio:>10.2f}"
            )
    return "\n".join(lines)


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    rows = [row for K in _KS.value for row in measure(int(K))]
    print(f"devices: {devices.describe()}; default group size {layout.CPU_GROUP_SIZE}")
    print(table(rows))
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": _STEPS.value, "rows": rows,
              "devices": jax.device_count()}  # fmt: skip
    (out / "group_size.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    app.run(main)
