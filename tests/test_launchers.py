"""Every launcher turns bad input into one line naming the problem and the fix: no traceback,
a non-zero exit code (2 for the config, 1 for data and workdir), nothing written beyond
config.json. The launchers run as real processes, several at a time."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from cvae_jax.data import files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bad_inputs(tmp):
    """(launcher, extra flags, exit code, message regex) for inputs a new user gets wrong."""
    mismatch, truncated = tmp / "mismatch", tmp / "truncated"
    mismatch.mkdir()
    truncated.mkdir()
    files.write_idx(str(mismatch / "train-images-idx3-ubyte"), np.zeros((12, 28, 28), np.uint8))
    files.write_idx(str(mismatch / "train-labels-idx1-ubyte"), np.zeros(11, np.uint8))
    images = truncated / "train-images-idx3-ubyte.gz"
    files.write_idx(str(images), np.arange(50 * 784).reshape(50, 28, 28).astype(np.uint8))
    images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])
    files.write_idx(str(truncated / "train-labels-idx1-ubyte.gz"), np.zeros(50, np.uint8))
    np.savez(tmp / "labels.npz", x=np.zeros((50, 8, 8), np.uint8), y=np.arange(50))
    np.savez(tmp / "c.npz", x=np.zeros((50, 3), np.float32), y=np.zeros((50, 2), np.float32))
    (tmp / "a_file").write_text("not a directory")
    np.savez(tmp / "empty.npz", x=np.zeros((0, 3), np.float32), y=np.zeros(0, np.int64))
    sizes = tmp / "sizes"
    sizes.mkdir()
    files.write_idx(str(sizes / "train-images-idx3-ubyte"), np.zeros((40, 28, 28), np.uint8))
    files.write_idx(str(sizes / "train-labels-idx1-ubyte"), np.arange(40, dtype=np.uint8) % 10)
    files.write_idx(str(sizes / "t10k-images-idx3-ubyte"), np.zeros((20, 8, 8), np.uint8))
    files.write_idx(str(sizes / "t10k-labels-idx1-ubyte"), np.arange(20, dtype=np.uint8) % 10)
    mnist = ["--config.data.name=mnist", "--config.data.path="]
    return {
        "batch": ("toy2d", ["--config.training.batch_size=100000"], 2,
                  r"training.batch_size=100000 exceeds the 1000 training examples"),
        "prior": ("toy2d", ["--config.variants=('standard','vampprior')"], 2,
                  r"model.prior: Unknown prior 'vampprior'; choose one of standard"),
        "own_data": ("toy2d", ["--config.data.name=npz", f"--config.data.path={tmp}/F.npz"], 2,
                     r"needs data.name='two_gaussians'"),
        "typo": ("toy2d", ["--config.training.learning_rte=0.1"], 2,
                 r'Did you mean "learning_rate" instead of "learning_rte"\?'),
        "config_arg": ("toy2d:big", [], 2, r"Unknown config argument 'big'; use '' or 'smoke'"),
        "missing_dir": ("digits", [mnist[0], mnist[1] + f"{tmp}/nowhere"], 1,
                        r"nowhere is neither a directory nor an .npz file"),
        "count_mismatch": ("digits", [mnist[0], mnist[1] + str(mismatch)], 1,
                           r"holds 12 images but .*holds 11 labels; they must match"),
        "truncated_gz": ("digits", [mnist[0], mnist[1] + str(truncated)], 1,
                         r"train-images-idx3-ubyte.gz: could not be read as a \(gzipped\) IDX"),
        "labels": ("digits", [mnist[0], mnist[1] + f"{tmp}/labels.npz"], 1,
                   r"labels must lie in \[0, 9\] for num_classes=10; found range \[0, 49\]"),
        "quadrants": ("quadrants", ["--config.variants=(1,5)"], 2,
                      r"5 observed quadrants is not possible; use numbers among 1, 2, 3"),
        "vae_beta": ("vae_beta", ["--config.sweep.betas=(0.0,-1.0)"], 2,
                     r"sweep.betas .*finite and >= 0"),
        "sigma": ("gaussian_mean", ["--config.sigma=-1.0"], 2,
                  r"data.sigma=-1.0 is not allowed; it must be a standard deviation > 0"),
        "workdir_file": ("gaussian_mean", [f"--workdir={tmp}/a_file"], 1,
                         r"a_file is a file; pass a directory"),
        "grid_name": ("sweep", ["--config.sweep.grid.lr=(0.1,)"], 2,
                      r"Unknown sweep.grid axis 'lr'; the names a sweep can vary are beta, "
                      r"free_bits, capacity, capacity_gamma, capacity_steps, kl_warmup_steps, "
                      r"learning_rate, hybrid_alpha"),
        "grid_value": ("sweep", ["--config.sweep.grid.free_bits=(0.5,-1.0)"], 2,
                       r"sweep.grid.free_bits must be a list of values, each a number >= 0"),
        "float_labels": ("sweep", ["--config.data.name=npz", f"--config.data.path={tmp}/c.npz"],
                         1, r"y must be integer class labels \[N\] with at least two classes"),
        "components": ("sweep", ["--config.model.prior=mog", "--config.model.prior_components=0"],
                       2, r"model.prior_components=0 is not allowed; it must be an integer >= 1"),
        "flow_steps": ("sweep", ["--config.model.posterior=iaf", "--config.model.flow_steps=0"],
                       2, r"model.flow_steps=0 is not allowed; it must be an integer >= 1"),
        "latent_dims": ("sweep", ["--config.model.kind=hierarchical",
                                  "--config.model.latent_dims=(4,0)"], 2,
                        r"model.latent_dims=\(4, 0\) is not allowed; it must be a list of layer"),
        "iwae_samples": ("sweep", ["--config.objective.iwae_samples=0"], 2,
                         r"objective.iwae_samples=0 is not allowed; it must be an integer >= 1"),
        "iwae_free_bits": ("sweep", ["--config.objective.iwae_samples=5",
                                     "--config.sweep.grid.free_bits=(0.0,0.5)"], 2,
                           r"iwae_samples=5 \(the IWAE objective\) is not defined with free_bits"),
        "vamp_iaf": ("sweep", ["--config.model.prior=vamp", "--config.model.posterior=iaf"], 2,
                     r"model.prior='vamp' is defined for a diagonal-Gaussian posterior"),
        "empty_npz": ("sweep", ["--config.data.name=npz", f"--config.data.path={tmp}/empty.npz"],
                      1, r"empty.npz: x has 0 rows and y 0; a data set needs at least one"),
        "t10k_size": ("sweep", [mnist[0], mnist[1] + str(sizes)], 1,
                      r"t10k-images-idx3-ubyte: 8x8 images, but the training images are 28x28"),
        "import": ("sweep", ["--import=no_such_module_of_yours"], 2,
                   r"--import=no_such_module_of_yours: No module named"),
    }  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Starts every bad launch at once (most of each is importing jax), then collects them."""
    tmp = tmp_path_factory.mktemp("bad_inputs")
    specs, procs = _bad_inputs(tmp), {}
    for case, (launcher, extra, _, _) in specs.items():
        name, _, arg = launcher.partition(":")
        config = f"--config=configs/{name}.py:{arg or 'smoke'}"
        cmd = [sys.executable, "-m", f"experiments.{name}", config, f"--workdir={tmp}/{case}"]
        procs[case] = subprocess.Popen(
            cmd + extra, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    results = {case: (p.wait(timeout=300), p.stderr.read()) for case, p in procs.items()}
    return tmp, specs, results


CASES = [
    "batch", "prior", "own_data", "typo", "config_arg", "missing_dir", "count_mismatch",
    "truncated_gz", "labels", "quadrants", "sigma", "workdir_file", "grid_name", "grid_value",
    "float_labels", "vae_beta", "components", "flow_steps", "latent_dims", "iwae_samples",
    "iwae_free_bits", "vamp_iaf", "import", "empty_npz", "t10k_size",
]  # fmt: skip


def test_every_case_is_checked(outcomes):
    assert sorted(outcomes[1]) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_without_traceback(outcomes, case):
    tmp, specs, results = outcomes
    _, _, exit_code, message = specs[case]
    returncode, stderr = results[case]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert returncode == exit_code, stderr[-2000:]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0]), stderr[-2000:]
    assert "Traceback" not in stderr
    assert re.search(message, errors[0]), errors[0]
    workdir = tmp / case
    written = sorted(os.listdir(workdir)) if workdir.is_dir() else []
    written = [name for name in written if not name.startswith(".lock-process-")]  # the claim
    assert written in ([], ["config.json"]), written  # no results, no checkpoints


USER_PRIOR = """
import distrax
import flax.linen as nn
import jax.numpy as jnp

import cvae_jax


class Mixture(nn.Module):
    latent_dim: int
    num_components: int

    @nn.compact
    def __call__(self, c):
        k, d = self.num_components, self.latent_dim
        means = self.param("means", nn.initializers.normal(1.0), (k, d))
        shape = (c.shape[0], k, d)
        components = cvae_jax.DiagonalGaussian(jnp.broadcast_to(means, shape), jnp.zeros(shape))
        weights = distrax.Categorical(logits=jnp.zeros(shape[:2]))
        return distrax.MixtureSameFamily(weights, components)


@cvae_jax.PRIORS.register("mog5", config_keys=("num_components",))
def build(model_config, num_classes):
    return Mixture(model_config.latent_dim, model_config.get("num_components", 5))
"""

USER_CONFIG = """
from configs import sweep


def get_config(arg="smoke"):
    config = sweep.get_config(arg)
    config.model.prior = "mog5"
    config.model.num_components = 3  # the registered prior's own key
    return config
"""


def test_a_users_own_prior_trains_from_the_command_line(tmp_path):
    """docs/design.md's example: a prior registered in the user's module, its config key in
    the user's config file, loaded with --import, from the user's own directory."""
    (tmp_path / "my_prior.py").write_text(USER_PRIOR)
    (tmp_path / "my_config.py").write_text(USER_CONFIG)
    cmd = [sys.executable, "-m", "experiments.sweep", "--import=my_prior",
           "--config=my_config.py", f"--workdir={tmp_path}/run"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert rows and all(np.isfinite(r["test_elbo"]) for r in rows)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["prior"] == "mog5" and config["model"]["num_components"] == 3


def test_a_launcher_runs_from_another_directory_and_names_where_configs_are(tmp_path):
    """The docs' command copied into one's own directory: the default --config is the
    launcher's installed one; a relative path that exists nowhere says where configs live."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    run = [sys.executable, "-m", "experiments.gaussian_mean", f"--workdir={tmp_path}/run"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "metrics.json").exists()
    bad = [sys.executable, "-m", "experiments.sweep", "--config=configs/nowhere.py",
           f"--workdir={tmp_path}/bad"]  # fmt: skip
    done = subprocess.run(bad, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert re.search(r"^error: bad --config: .*nowhere.py.*configs are in .*configs$",
                     done.stderr.strip().splitlines()[-1])  # fmt: skip
