r"""Image cVAEs on 28x28 pixels: the library's sweep against a jitted step and PyTorch. One run.

    python -m benchmarks.image_throughput --out=runs/bench          # ~4 min on 2 CPU cores

Models (configs/digits.py, batch 128, latent 8, Bernoulli pixels, 10 classes, one member per
beta): `conv`, the digits conv cVAE (two stride-2 convolutions of 16 and 32 channels, dense
128, transposed convolutions back), and `mlp`, the image MLP (784-512-512 both ways). Rows:
  sweep       the library's sweep chunk for K members (K betas of one seed, `lax.scan`);
  sweep_xla   the same with model.conv_impl='xla' (lax convolutions inside the scan; conv only);
  jit_step    the single-model jitted step called from Python (K = 1);
  torch       the same architecture as an idiomatic PyTorch loop, one model (default threads),
  torch_1thr  and with one thread; K sequential PyTorch runs have this same model-steps/s.
Data: random binary images (the timing does not depend on the pixels). Prints a table of
model-steps/s (median of --reps calls of --steps steps) with compile seconds and each row's
ratio to the torch row; writes image_throughput.json to --out.
"""

import json
from pathlib import Path

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from benchmarks import machine  # noqa: E402
from configs import digits  # noqa: E402
from cvae_jax.data import Dataset  # noqa: E402
from cvae_jax.runs import devices  # noqa: E402
from cvae_jax.training import runner  # noqa: E402

_MODELS = flags.DEFINE_list("models", ["conv", "mlp"], "Model kinds: conv, mlp.")
_KS = flags.DEFINE_list("ks", ["1", "8"], "Sweep sizes K.")
_STEPS = flags.DEFINE_integer("steps", 20, "Training steps per compiled call.")
_REPS = flags.DEFINE_integer("reps", 3, "Timed calls per row; the median is reported.")
_TORCH = flags.DEFINE_bool("torch", True, "Add the PyTorch rows if torch imports.")
_GROUP = flags.DEFINE_integer("group_size", -1, "sweep.group_size (-1: the config's).")
flags.DEFINE_integer("cpu_devices", 0, "XLA CPU devices; 0: one per core, as the launchers.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Output directory.")

SIDE, BATCH, NUM_EXAMPLES = 28, 128, 2000


def image_data() -> Dataset:
    rng = np.random.default_rng(0)
    x = (rng.random((NUM_EXAMPLES, SIDE * SIDE)) > 0.7).astype(np.float32)
    return Dataset(x, rng.integers(0, 10, NUM_EXAMPLES).astype(np.int32))


def image_config(model: str, K: int, conv_impl: str = "auto"):
    config = digits.get_config()
    config.data.name = "mnist"  # the data are passed in; this only selects the config keys
    config.model.kind = "conv" if model == "conv" else "image_mlp"
    config.model.hidden = (128,) if model == "conv" else (512, 512)
    config.model.conv_impl = conv_impl
    config.model.prior = "standard"
    config.training.batch_size = BATCH
    config.training.log_every = _STEPS.value
    config.sweep.betas = tuple(np.linspace(0.5, 4.0, K).round(4).tolist())
    if _GROUP.value >= 0:
        config.sweep.group_size = _GROUP.value
    return config


def time_sweep(config, data) -> dict:
    setup = runner.build_setup(config, data)
    out = machine.time_sweep_chunk(setup, setup.sweep_chunk.prepare, _STEPS.value, _REPS.value)
    return {**out, "devices": len(setup.sweep_chunk.devices)}


def time_jit_step(config, data) -> dict:
    """The single-model step jitted and called once per step (`machine.time_jit_step`)."""
    setup = runner.build_setup(config, data)
    return machine.time_jit_step(setup, BATCH, _STEPS.value, _REPS.value)


def torch_rows(model: str) -> list[dict]:
    """The PyTorch loop in a fresh process (XLA's threads do not compete); [] without torch."""
    rows = []
    for threads, name in [(0, "torch"), (1, "torch_1thr")]:
        code = (
            "from benchmarks import torch_models; "
            f"print(torch_models.loop({model!r}, {BATCH}, {_STEPS.value * 5}, {threads}))"
        )
        row = machine.torch_json(code)
        if row is None:
            return []
        rows.append({"K": 1, "row": name, **row})
    return rows


def measure(model: str, data: Dataset) -> list[dict]:
    rows = []
    for K in (int(k) for k in _KS.value):
        logging.info("%s K=%d sweep ...", model, K)
        rows.append({"K": K, "row": "sweep", **time_sweep(image_config(model, K), data)})
        if model == "conv":
            sweep_xla = time_sweep(image_config(model, K, conv_impl="xla"), data)
            rows.append({"K": K, "row": "sweep_xla", **sweep_xla})
        if K == 1:
            rows.append({"K": 1, "row": "jit_step", **time_jit_step(image_config(model, 1), data)})
    rows += torch_rows(model) if _TORCH.value else []
    for row in rows:
        row["model"] = model
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        f"{'model':<5} {'K':>3} {'row':<11} {'model-steps/s':>13} {'compile s':>9} {'x torch':>8}"
    ]
    for model in dict.fromkeys(r["model"] for r in rows):
        ref = next((r for r in rows if r["model"] == model and r["row"] == "torch"), None)
        for r in (r for r in rows if r["model"] == model):
            ratio = r["model_steps_per_s"] / ref["model_steps_per_s"] if ref else float("nan")
            lines.append(
                f"{model:<5} {r['K']:>3} {r['row']:<11} {r['model_steps_per_s']:>13,.1f} "
                f"{r.get('compile_s', float('nan')):>9.2f} {ratio:>8.2f}"
            )
    return "\n".join(lines)


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    data = image_data()
    rows = [row for model in _MODELS.value for row in measure(model, data)]
    print(table(rows))
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": _STEPS.value, "batch": BATCH,
              "devices": [str(d) for d in jax.devices()], "rows": rows}  # fmt: skip
    (out / "image_throughput.json").write_text(json.dumps(report, indent=1, default=float))
    logging.info("wrote %s", out / "image_throughput.json")


if __name__ == "__main__":
    app.run(main)
