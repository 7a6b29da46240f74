r"""Where a sweep chunk's time goes, by XLA kernel kind: one profiled call, a table.

    python -m benchmarks.op_profile --ks=1,8 --steps=100 --cpu_devices=1
    python -m benchmarks.op_profile --row=vq_1 --ks=1   # any row of the likelihood study

Builds a row of the MNIST likelihood benchmark (default its one-layer VAE,
benchmarks/setups.py), compiles its sweep chunk for K members, warms it up, then traces one call of --steps
steps with `jax.profiler` (a Perfetto trace) and sums the durations of the executed kernels
by kind: the kernel's name without its number (`add_select_fusion.8` -> `add_select_fusion`,
XLA's name for a fused elementwise computation ending in a select). The shares are of the
summed kernel time, which exceeds the wall time where kernels run on several threads at
once. Kinds on XLA's CPU backend: `ynn_fusion`/`dot` matrix products, `*_fusion` elementwise
loops (Adam's update and the divergence guard are `add_select_fusion`), `transpose_copy_*`
and `copy` layout changes.
"""

import collections
import glob
import gzip
import json
import re
import tempfile
import time

import jax
from absl import app, flags

from benchmarks import machine, setups
from cvae_jax.runs import devices
from cvae_jax.studies.mnist_likelihood import ROWS
from cvae_jax.training import runner

_KS = flags.DEFINE_list("ks", ["1", "8"], "Sweep sizes K.")
_STEPS = flags.DEFINE_integer("steps", 100, "Training steps in the profiled call.")
_TOP = flags.DEFINE_integer("top", 8, "Kernel kinds listed per K; the rest are summed.")
_ROW = flags.DEFINE_enum("row", "vae_1", list(ROWS), "The likelihood study's row to profile.")
flags.DEFINE_integer("cpu_devices", 1, "XLA CPU devices; 0: one per core, as the launchers.")


def kernel_seconds(trace_dir: str) -> dict:
    """{kernel kind: seconds} from the Perfetto trace written under `trace_dir`."""
    (path,) = glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True)
    with gzip.open(path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    totals = collections.Counter()
    for e in events:
        name = e.get("name", "")
        # Complete events of kernels only: not Python frames ($...), the executor, or loops
        # and calls, whose events contain their bodies' kernels.
        if e.get("ph") != "X" or name.startswith("$") or "::" in name:
            continue
        if not re.match(r"(while|conditional|call)(\.\d+)?$", name):
            totals[re.sub(r"\.\d+$", "", name)] += e.get("dur", 0) / 1e6
    return dict(totals)


def profile(K: int) -> tuple[float, dict]:
    """(wall seconds of the traced call, {kind: kernel seconds}) for a K-member sweep."""
    config = setups.likelihood_row_config(_ROW.value, K, _STEPS.value)
    setup = runner.build_setup(config, setups.likelihood_data())
    run = machine.prepared_chunk(setup)
    run.call()  # a second warm call: the first may still page in buffers
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            start = time.perf_counter()
            run.call()
            wall = time.perf_counter() - start
        return wall, kernel_seconds(trace_dir)


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)
    steps = _STEPS.value
    for K in map(int, _KS.value):
        wall, kinds = profile(K)
        total = sum(kinds.values())
        ranked = sorted(kinds.items(), key=lambda kv: -kv[1])
        top, rest = ranked[: _TOP.value], sum(s for _, s in ranked[_TOP.value :])
        print(f"{_ROW.value}, K={K}: {steps} steps in {wall:.2f} s ({K * steps / wall:,.0f} model-steps/s), "
              f"kernel time {total:.2f} s")  # fmt: skip
        for name, seconds in [*top, ("(other)", rest)]:
            print(f"  {name:<32} {seconds * 1e3 / steps:8.3f} ms/step {seconds / total:6.1%}")


if __name__ == "__main__":
    app.run(main)
