"""The posterior-collapse study: the z-share of fixed-latent samples, and the study end to end."""

import csv
import os

import numpy as np
import pytest

from configs import collapse as collapse_config
from cvae_jax.errors import ConfigError
from cvae_jax.evaluation.collapse import z_share
from cvae_jax.runs import launch
from cvae_jax.studies import collapse


def test_z_share_is_one_when_z_fixes_x_and_near_zero_when_x_ignores_z():
    rng = np.random.default_rng(0)
    rows = rng.binomial(1, 0.5, size=(3, 40, 1, 16)).astype(np.float32)  # one image per z
    assert float(z_share(np.repeat(rows, 5, axis=2))) == pytest.approx(1.0)
    ignored = rng.binomial(1, 0.3, size=(3, 40, 40, 16)).astype(np.float32)  # iid of z
    assert abs(float(z_share(ignored))) < 0.01  # unbiased variances: 0 in expectation
    # Bernoulli pixels with per-latent means p_r: the share is Var(p) / (Var(p) + E p(1-p)).
    p = rng.uniform(0.1, 0.9, size=(1, 200, 1, 16))
    draws = rng.binomial(1, np.broadcast_to(p, (1, 200, 400, 16))).astype(np.float32)
    expected = np.var(p) / (np.var(p) + np.mean(p * (1 - p)))
    assert float(z_share(draws)) == pytest.approx(expected, abs=0.02)


def test_variants_name_windows_and_bad_names_are_refused():
    config = collapse_config.get_config("")
    windows = {v.name: v.config.model.decoder_window for v in collapse.variants(config)}
    assert windows == {"window_0": 0, "window_1": 1, "window_3": 3, "full": collapse.FULL_WINDOW}
    config.variants = ("window_2", "pixelcnn")
    with pytest.raises(ConfigError, match=r"'pixelcnn' is not a decoder window; use 'window_<w>'"):
        collapse.STUDY.validate(config)


def test_collapse_study_smoke_writes_rows_table_and_figures(tmp_path):
    config = collapse_config.get_config("smoke")
    config.variants = ("full",)  # one compile keeps CI short: the window clipped to the image
    workdir = str(tmp_path / "collapse")
    out = launch.run_study(collapse.STUDY, config, workdir)
    rows = out["rows"]
    assert len(rows) == 2  # free bits 0 and 0.5, one warm-up, one seed
    assert {r["window"] for r in rows} == {7}  # 8x8 digits: all of x_<i
    assert {r["remedy"] for r in rows} == {"warm-up 20", "free bits 0.5 + warm-up 20"}
    for r in rows:
        assert -1.0 < r["z_share"] <= 1.0 and np.isfinite(r["test_iwae"])
    with open(os.path.join(workdir, "collapse.csv")) as f:
        assert len(list(csv.DictReader(f))) == 2
    for figure in ("collapse_vs_window.png", "fixed_latent_samples.png"):
        assert os.path.getsize(os.path.join(workdir, figure)) > 1000
