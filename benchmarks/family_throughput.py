r"""What each latent family costs: model-steps/s of a K = 8 sweep on the image MLP. One run.

    python -m benchmarks.family_throughput --out=runs/bench      # ~5 min on 2 CPU cores

The model of benchmarks/image_throughput.py's `mlp` rows (784-512-512 both ways, latent 8,
batch 128, Bernoulli pixels, 10 classes; K = 8 betas of one seed in one sweep), with each
family of docs/families.md in turn; `gaussian` (the diagonal Gaussian against N(0, I), the
rate in closed form) is the reference. `mog1` is a one-component mixture prior: the same
prior, its rate estimated by Monte Carlo, so its ratio is what the Monte Carlo rate costs
against the closed form. `ar_w<w>` / `ar_full` are the autoregressive decoder with a window of
w pixels / all of x_<i, and `vq` / `vq_ema` the VQ-VAE (64 codes, 8 vectors of 4) with the
codebook learned by gradient / by moving averages. The last column is the time to draw 100
images from p(z|y) and p(x|z,y) (one pass for a factorised decoder, 784 for an AR one). The families are compiled first (compile seconds per family), then
their timed calls alternate (--reps rounds), so drift hits every family alike. Prints a
table with each row's ratio to `gaussian`; writes family_throughput.json to --out.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
from absl import app, flags, logging

from benchmarks import machine
from benchmarks.image_throughput import image_config, image_data  # also its flags
from cvae_jax.evaluation.estimators import draw_images
from cvae_jax.runs import devices
from cvae_jax.training import runner
from cvae_jax.training.step import init_state

FAMILIES = {
    "gaussian": {},
    "mog1": {"model.prior": "mog", "model.prior_components": 1},
    "mog": {"model.prior": "mog", "model.prior_components": 50},
    "vamp": {"model.prior": "vamp", "model.prior_components": 50},
    "flow": {"model.prior": "flow", "model.flow_hidden": (128,)},
    "iaf": {"model.posterior": "iaf", "model.flow_hidden": (128,)},
    "hvae": {"model.kind": "hierarchical", "model.latent_dims": (8, 4)},
    "iwae5": {"objective.iwae_samples": 5},
    # Autoregressive decoders (VLAE's window; 27: a full PixelCNN on 28x28) and the VQ-VAE.
    "ar_w0": {"model.decoder": "autoregressive", "model.decoder_window": 0},
    "ar_w3": {"model.decoder": "autoregressive", "model.decoder_window": 3},
    "ar_full": {"model.decoder": "autoregressive", "model.decoder_window": 27},
    "vq": {"model.kind": "vq", "model.codebook_size": 64, "model.code_dim": 4},
    "vq_ema": {"model.kind": "vq", "model.codebook_size": 64, "model.code_dim": 4,
               "model.codebook_update": "ema"},
}  # fmt: skip
SAMPLED = 100  # images drawn per family for the sampling column (pixel by pixel if AR)
_FAMILIES = flags.DEFINE_list("families", list(FAMILIES), "Rows, from: " + ", ".join(FAMILIES))
_K = 8


def family_config(name: str):
    config = image_config("mlp", _K)
    if "model.kind" in FAMILIES[name]:  # the image MLP's conv keys belong to its kind only
        for key in ("conv_channels", "conv_impl"):
            del config.model[key]
    for dotted, value in FAMILIES[name].items():
        section, key = dotted.split(".")
        config[section][key] = value
    return config


def sampling_seconds(setup, reps: int) -> float:
    """Seconds to draw SAMPLED images x ~ p(x|z,y), z ~ p(z|y), with one member's initial
    parameters: one jitted call (an autoregressive decoder's is a loop over the pixels)."""
    params = init_state(setup.model, setup.optimizer, jax.random.key(0), setup.data).params
    y = jnp.arange(SAMPLED) % 10

    @jax.jit
    def draw(params, key):
        z_key, x_key = jax.random.split(key)
        z = setup.model.apply(params, y, z_key, method=setup.model.prior_sample)
        return draw_images(x_key, setup.model, params, z, y)

    return machine.median_seconds(draw, params, jax.random.key(1), reps=reps)


def table(rows: list[dict]) -> str:
    ref = next(r for r in rows if r["family"] == "gaussian")["model_steps_per_s"]
    head = f"{'family':<9} {'model-steps/s':>13} {'compile s':>9} {'x gaussian':>10}"
    lines = [head + f" {f'{SAMPLED} samples s':>13}"]
    for r in rows:
        lines.append(
            f"{r['family']:<9} {r['model_steps_per_s']:>13,.1f} {r['compile_s']:>9.2f} "
            f"{r['model_steps_per_s'] / ref:>10.2f} {r['sample_s']:>13.4f}"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
    data = image_data()
    names = ["gaussian", *(n for n in _FAMILIES.value if n != "gaussian")]
    prepared, sample_s = {}, {}
    for name in names:
        logging.info("compiling %s ...", name)
        setup = runner.build_setup(family_config(name), data)
        prepared[name] = machine.prepared_chunk(setup)
        sample_s[name] = sampling_seconds(setup, flags.FLAGS.reps)
    steps = flags.FLAGS.steps
    seconds = machine.interleaved_calls({n: p.call for n, p in prepared.items()}, flags.FLAGS.reps)
    rows = [
        {"family": n, "model_steps_per_s": prepared[n].members * steps / seconds[n],
         "compile_s": prepared[n].compile_s, "call_s": seconds[n], "sample_s": sample_s[n]}
        for n in names
    ]  # fmt: skip
    print(table(rows))
    out = Path(flags.FLAGS.out)  # --out, --steps, --reps: image_throughput's flags
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine.machine_report(), "steps": steps, "K": _K,
              "devices": [str(d) for d in jax.devices()], "rows": rows}  # fmt: skip
    (out / "family_throughput.json").write_text(json.dumps(report, indent=1, default=float))
    logging.info("wrote %s", out / "family_throughput.json")


if __name__ == "__main__":
    app.run(main)
