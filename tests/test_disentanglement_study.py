"""The disentanglement study end to end at smoke size, and its config errors."""

import os

import pytest

from configs import disentanglement as dis_config
from cvae_jax.errors import ConfigError
from cvae_jax.runs import launch
from cvae_jax.studies import disentanglement


def test_smoke_study_scores_every_member_and_times_one_model_alone(tmp_path):
    config = dis_config.get_config("smoke")
    config.variants = ("cvae_shape",)  # the most complete: a condition left out, I(Z;Y)
    workdir = str(tmp_path / "run")
    out = launch.run_study(disentanglement.STUDY, config, workdir)
    rows = out["rows"]
    assert len(rows) == 2 * 2  # seeds x betas
    for row in rows:
        for score in disentanglement.SCORES:
            assert 0 <= row[score] <= 1, (score, row[score])
    cvae = [r for r in rows if r["variant"] == "cvae_shape"]
    assert all(r["factors"] == "scale orientation pos_x pos_y" for r in cvae)  # y left out
    # a Monte Carlo estimate (slightly negative near 0), at most log 4 plus the plug-in bias
    assert all(-0.05 <= r["mi_zy"] <= 1.4 for r in cvae)
    assert out["timings"]["cvae_shape"]["one_member_seconds"] > 0
    for figure in ("scores.png", "traversals_cvae_shape.png"):
        assert os.path.getsize(os.path.join(workdir, figure)) > 1000


def test_unknown_variant_and_metric_are_one_line_errors():
    config = dis_config.get_config("smoke")
    config.variants = ("beta", "gamma")
    with pytest.raises(ConfigError, match=r"unknown \['gamma'\]; choose from beta, capacity"):
        disentanglement.STUDY.validate(config)
    config = dis_config.get_config("smoke")
    config.evaluation.traversal_metric = "sap"
    with pytest.raises(ConfigError, match="traversal_metric='sap'; choose one of beta_vae"):
        disentanglement.STUDY.validate(config)
