"""Le (2018): training recovers the analytic optimum theta*, phi* of the Gaussian unknown-mean cVAE."""

import json
import math
import os

import pytest

from configs import gaussian_mean as gaussian_mean_config
from cvae_jax.models import linear as linear_models
from cvae_jax.studies import gaussian_mean


def test_optimum_formula_is_the_exact_posterior():
    opt = linear_models.le_optimum(mu0=2.0, sigma0=0.5, sigma=1.5)
    # Posterior precision 1/0.25 + 1/2.25; weights on x and c sum to one.
    assert opt["phi1"] + opt["phi2"] == pytest.approx(1.0)
    assert opt["phi4"] == pytest.approx(math.log(1 / (1 / 0.25 + 1 / 2.25)))
    assert opt["phi3"] == pytest.approx((2.0 / 0.25) / (1 / 0.25 + 1 / 2.25))


@pytest.mark.parametrize("mu0,sigma0,sigma", [(1.0, 1.0, 1.0), (-2.0, 0.7, 1.5)])
def test_training_recovers_all_seven_parameters(tmp_path, mu0, sigma0, sigma):
    config = gaussian_mean_config.get_config("smoke")
    config.mu0, config.sigma0, config.sigma = mu0, sigma0, sigma
    results = gaussian_mean.run(config, str(tmp_path))
    assert set(results["parameters"]) == {
        "theta1", "theta2", "theta3", "phi1", "phi2", "phi3", "phi4"
    }  # fmt: skip
    for name, row in results["parameters"].items():
        assert row["abs_error"] < 0.05, (name, row)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["constants"] == {"mu0": mu0, "sigma0": sigma0, "sigma": sigma}
    assert os.path.exists(tmp_path / "config.json")
