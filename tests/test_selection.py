"""Best-on-validation selection and early stopping inside the compiled sweep."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError, DataError
from cvae_jax.training import checkpoint, runner, selection
from cvae_jax.training.step import burda_schedule


def test_update_keeps_the_best_and_stops_after_patience_evaluations():
    best = selection.init_best({"w": jnp.zeros(())})
    trace = []
    for step, loss in enumerate([3.0, 2.0, 2.5, np.nan, 1.9, 2.1, 2.2, 0.5], start=1):
        best = selection.update(best, jnp.float32(loss), {"w": jnp.float32(step)}, step, 2)
        trace.append((int(best.step), int(best.waited), int(best.stopped_at)))
    # improves at 1, 2, 5; NaN never improves; patience 2 runs out at step 7; 0.5 at 8 is late
    assert trace == [(1, 0, -1), (2, 0, -1), (2, 1, -1), (2, 2, 4), (2, 2, 4), (2, 2, 4),
                     (2, 2, 4), (2, 2, 4)]  # fmt: skip
    assert float(best.params["w"]) == 2.0 and float(best.loss) == 2.0


def _overfitting_config(patience=0):
    """30 training points and a wide decoder: members overfit, each at its own step."""
    config = base_config()
    config.data.num_examples, config.data.validation_examples = 60, 30
    config.model.hidden = (64,)
    config.training.num_steps, config.training.log_every = 400, 100
    config.training.eval_every, config.training.patience = 20, patience
    config.training.batch_size = 10
    config.training.checkpoint_every = 100
    config.sweep.betas, config.sweep.num_seeds = (1.0,), 2
    config.sweep.grid.learning_rate = (3e-2, 1e-2)
    return config


class _CrashError(Exception):
    pass


def _crash_after(step):
    def hook(done):
        if done == step:
            raise _CrashError

    return hook


def test_members_keep_their_best_step_stop_early_and_resume_bitwise(tmp_path):
    config = _overfitting_config(patience=2)
    setup, uninterrupted = runner.train_sweep(config)
    rows = uninterrupted.rows()
    assert min(r["stopped_at"] for r in rows) >= 0  # every member's patience ran out ...
    last = int(np.max(uninterrupted.history["step"]))
    assert last < config.training.num_steps  # ... so the sweep ended early
    # Each member holds the parameters of its best evaluation, and members peak apart.
    assert len({r["best_step"] for r in rows}) > 1
    loss = jax.jit(selection.make_validation_loss(setup.model, 30))
    for i, row in enumerate(rows):
        params = uninterrupted.member_params(i // 2, i % 2)
        recomputed = float(loss(params, setup.validation))
        np.testing.assert_allclose(recomputed, row["best_validation_loss"], rtol=1e-5)
        assert row["best_step"] < row["stopped_at"]  # later evaluations were worse
        assert row["final_validation_loss"] > row["best_validation_loss"]
    with pytest.raises(_CrashError):
        runner.train_sweep(config, checkpoint_dir=str(tmp_path), hooks=checkpoint.Hooks(
            after_chunk=_crash_after(100)))  # fmt: skip
    _, resumed = runner.train_sweep(config, checkpoint_dir=str(tmp_path))
    for a, b in zip(
        jax.tree.leaves(uninterrupted.state), jax.tree.leaves(resumed.state), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert resumed.rows() == uninterrupted.rows()


def test_bad_selection_settings_are_one_line_each():
    config = _overfitting_config()
    config.training.eval_every = 30
    with pytest.raises(ConfigError, match="eval_every=30 must divide training.log_every=100"):
        runner.build_setup(config)
    config = _overfitting_config()
    config.data.validation_examples = 0
    with pytest.raises(ConfigError, match="model selection needs both"):
        runner.build_setup(config)
    config = _overfitting_config()
    config.data.validation_examples = 60
    with pytest.raises(DataError, match="validation_examples=60 leaves no training examples"):
        runner.build_setup(config)


@pytest.mark.parametrize("num_steps", [60, 3280])
def test_burda_schedule_ends_at_a_tenth_however_short_the_run(num_steps):
    schedule = burda_schedule(num_steps)
    assert float(schedule(0)) == pytest.approx(1.0 if num_steps == 3280 else 10 ** (-4 / 7))
    assert float(schedule(num_steps - 1)) == pytest.approx(0.1, rel=1e-5)  # 10^(-7/7)
