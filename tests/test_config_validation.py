"""Bad configs and bad data files fail before anything is compiled, naming key, file and fix."""

import os
import subprocess
import sys

import numpy as np
import pytest

from configs import gaussian_mean as gaussian_mean_config
from cvae_jax.config import base_config, resolve_likelihood, validate
from cvae_jax.data import DATASETS, Dataset, load_dataset
from cvae_jax.errors import ConfigError, DataError
from cvae_jax.training import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _set(config, dotted, value):
    section, key = dotted.split(".")
    with config.unlocked():
        config[section][key] = value


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("training.learning_rte", 0.1, r"Unknown config key training.learning_rte; known keys .*learning_rate"),
        ("model.latent_dim", 0, r"model.latent_dim=0 is not allowed; it must be an integer >= 1"),
        ("model.latent_dim", True, r"model.latent_dim=True has type bool; it must be int"),
        ("training.learning_rate", -1e-3, r"training.learning_rate=-0.001 .* a finite number > 0"),
        ("training.num_steps", 1001, r"num_steps=1001 must be a multiple of training.log_every=500"),
        ("training.checkpoint_every", 750, r"checkpoint_every=750 must be a multiple of .*log_every=500"),
        ("training.checkpoints_to_keep", 0, r"checkpoints_to_keep=0 .* an integer >= 1"),
        ("training.lr_schedule", "linear", r"training.lr_schedule: Unknown lr schedule 'linear'; choose one of constant, cosine"),
        ("model.prior", "vampprior", r"model.prior: Unknown prior 'vampprior'; choose one of standard, fixed_conditional"),
        ("model.likelihood", "poisson", r"choose one of gaussian, bernoulli"),
        ("model.decoder_variance", "learned", r"choose one of fixed, per_dim, per_example"),
        ("sweep.betas", (0.1, -1.0), r"sweep.betas must be finite and >= 0 .*got \(0.1, -1.0\)"),
        ("sweep.betas", (), r"sweep.betas must be a non-empty list of numbers"),
        ("sweep.num_seeds", 0, r"sweep.num_seeds=0 is not allowed"),
        ("sweep.num_devices", -1, r"sweep.num_devices=-1 .* an integer >= 0 \(0: all devices\)"),
        ("objective.free_bits_groups", 3, r"free_bits_groups=3 must divide the model's 2 rate groups"),
        ("data.num_exmaples", 10, r"Unknown config key data.num_exmaples"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key_and_what_is_allowed(key, value, message):
    config = base_config()
    _set(config, key, value)
    with pytest.raises(ConfigError, match=message):
        validate(config)


def test_every_config_file_validates():
    validate(base_config())
    validate(gaussian_mean_config.get_config())
    validate(gaussian_mean_config.get_config("smoke"))


def test_keys_and_names_come_from_the_registries_and_top_level_keys_pass(monkeypatch):
    config = base_config()
    _set(config, "data.radius", 3.0)
    with pytest.raises(ConfigError, match="Unknown config key data.radius"):
        validate(config)
    _set(config, "data.name", "rings")
    with pytest.raises(
        ConfigError, match=r"data.name: Unknown name .rings.; choose one of .*two_gaussians"
    ):
        validate(config)
    monkeypatch.setattr(DATASETS, "_entries", dict(DATASETS._entries))  # undone after the test
    DATASETS.register("rings", config_keys=("radius",))(lambda data_config: None)
    config.variants = ("standard",)  # top-level keys belong to the study
    validate(config)
    _set(config, "sweep.priors", ("standard",))  # strict sections stay strict
    with pytest.raises(ConfigError, match="Unknown config key sweep.priors"):
        validate(config)


def test_validation_runs_before_any_compilation(tiny_config, monkeypatch):
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled a step before validating the config")

    monkeypatch.setattr(runner, "make_train_step", no_compiling)
    monkeypatch.setattr(runner, "init_sweep", no_compiling)
    tiny_config.training.batch_size = 10_000
    with pytest.raises(ConfigError, match="batch_size=10000 exceeds the 512 training examples"):
        runner.train_sweep(tiny_config)
    tiny_config.training.batch_size = 32
    tiny_config.data.num_classes = 1  # the labels hold 2 classes
    with pytest.raises(DataError, match=r"labels must lie in \[0, 0\].*found range \[0, 1\]"):
        runner.train_sweep(tiny_config)


def _npz_config(path, num_classes=2):
    config = base_config()
    config.data.name = "npz"
    config.data.num_classes = num_classes
    with config.unlocked():
        config.data.path = str(path)
    return config


def test_npz_loads_and_every_bad_file_names_itself(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros((10, 2, 2), np.float32), y=np.arange(10) % 2)
    data = load_dataset(_npz_config(good).data)
    assert data.x.shape == (8, 4) and data.y.shape == (8,)  # data.test_fraction = 0.2 held out
    validate(_npz_config(good))
    cases = {
        "missing.npz": (None, r"missing.npz does not exist; expected an .npz with 'x' float"),
        "truncated.npz": ("truncate", r"truncated.npz could not be read .*truncated"),
        "no_y.npz": ({"x": np.zeros((10, 2))}, r"no_y.npz lacks array\(s\) \['y'\]; found \['x'\]"),
        "rows.npz": ({"x": np.zeros((10, 2)), "y": np.zeros(9, int)}, r"rows.npz: x has 10 examples but y has 9"),
        "labels.npz": ({"x": np.zeros((3, 2)), "y": np.array([0, 1, 5])}, r"labels.npz: labels must lie in \[0, 1\]"),
    }  # fmt: skip
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if content == "truncate":
            path.write_bytes(good.read_bytes()[:200])
        elif content is not None:
            np.savez(path, **content)
        with pytest.raises(DataError, match=message):
            load_dataset(_npz_config(path).data)


def _launch(tmp_path, *overrides):
    cmd = [sys.executable, "-m", "experiments.gaussian_mean", "--config=configs/gaussian_mean.py"]
    cmd += [f"--workdir={tmp_path / 'run'}", *overrides]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_launcher_rejects_bad_overrides_before_compiling(tmp_path):
    # ml_collections' config_flags rejects an unknown key while parsing the flags.
    typo = _launch(tmp_path, "--config.training.learning_rte=0.1")
    assert typo.returncode != 0
    assert 'Did you mean "learning_rate" instead of "learning_rte"?' in typo.stderr
    # config_validation rejects an impossible value before anything is compiled or written.
    negative = _launch(tmp_path, "--config.training.batch_size=-1")
    assert negative.returncode != 0
    assert "training.batch_size=-1 is not allowed; it must be an integer >= 1" in negative.stderr
    assert "step " not in negative.stderr and not (tmp_path / "run").exists()


def test_auto_likelihood_is_bernoulli_in_the_unit_interval_and_gaussian_otherwise():
    config = base_config()
    config.model.likelihood = "auto"
    validate(config)
    pixels = Dataset(np.array([[0.0, 0.5], [1.0, 0.2]], np.float32), np.array([0, 1]))
    scores = Dataset(np.array([[-1.3, 0.5], [2.0, 0.2]], np.float32), np.array([0, 1]))
    assert resolve_likelihood(config, pixels).model.likelihood == "bernoulli"
    assert resolve_likelihood(config, scores).model.likelihood == "gaussian"
    assert config.model.likelihood == "auto"  # the given config is left as it was
