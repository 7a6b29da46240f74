"""Checkpoints of a whole sweep with orbax: save every N steps, keep the newest few, resume.

Layout: `<directory>/<step>/` (a study uses `<workdir>/checkpoints/<variant>/`), three items:
  state    the TrainState [S, H, ...]: parameters, optimiser states, step, diverged_at;
  history  the per-chunk metrics so far (metric -> [chunks, S, H], 'step' -> [chunks]),
           so a resumed run returns the same history as an uninterrupted one;
  meta     JSON: the step, a SHA-256 of state and history, the config's fingerprint, the
           device layout and the training seconds so far (summed over resumed processes).
Nothing else needs saving: the data come from the config, and the key of step t is
fold_in(train_key(seed), t), so the step counter is the whole data and PRNG position.

Orbax writes a checkpoint into `<step>.orbax-checkpoint-tmp-*` and renames it when complete,
so a process killed while saving leaves only a temporary directory, which is ignored and
deleted. A complete checkpoint that fails to load or whose digest does not match is moved to
`<directory>_corrupt/` and the previous one is tried; a warning says so.
"""

import errno
import hashlib
import json
import logging as std_logging
import os
import shutil
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint.path import atomicity

from cvae_jax.errors import CheckpointMismatchError, WorkdirError
from cvae_jax.training import sharding

_TMP_MARK = ".orbax-checkpoint-tmp"


class Hooks(NamedTuple):
    """Callbacks at the two moments a crash matters (the resume tests kill the process there).

    before_commit(step): checkpoint `step` is written but not yet renamed into place.
    after_chunk(step): the chunk ending at `step` is done (and its checkpoint, if one was due).
    """

    before_commit: Callable[[int], None] | None = None
    after_chunk: Callable[[int], None] | None = None


class _QuietOrbax:
    """Drops orbax's INFO lines (several per file it writes) from the absl log."""

    def filter(self, record) -> bool:
        return (
            record.levelno >= std_logging.WARNING or f"{os.sep}orbax{os.sep}" not in record.pathname
        )


logging.get_absl_logger().addFilter(_QuietOrbax())


def _rename_with_hook(before_commit: Callable[[int], None]):
    """Orbax's atomic rename, calling `before_commit(step)` just before the rename."""

    class HookedRename(atomicity.AtomicRenameTemporaryPath):
        async def finalize(self, *args, **kwargs):
            name = self.get_final().name
            if name.isdigit():  # the step directory, not one of its items
                before_commit(int(name))
            return await super().finalize(*args, **kwargs)

    return HookedRename


def digest(tree) -> str:
    """SHA-256 over every leaf's dtype, shape and bytes, in tree order."""
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        leaf = np.ascontiguousarray(leaf)
        h.update(f"{leaf.dtype}{leaf.shape}".encode())
        h.update(leaf.tobytes())
    return h.hexdigest()


class SweepCheckpointer:
    """Saves and restores (state, history) of one sweep under `directory`.

    Args:
      directory: where the step directories go (created if missing).
      every: steps between checkpoints; the last step is always saved as well.
      keep: how many of the newest checkpoints to keep.
      num_steps: the sweep's total steps.
      fingerprint: identifies the config; checkpoints with another one are refused.
      hooks: optional callbacks (`Hooks`).
      layout: the device layout (`runs.devices.layout()`-like dict) stored with each
        checkpoint; resuming on another layout is allowed but logged, since only a resume
        on the same layout is bitwise identical to an uninterrupted run.
      also_accepted: older fingerprints of the same config (`identity.older_fingerprints`),
        restored like `fingerprint`; new checkpoints carry `fingerprint`.
    """

    def __init__(
        self, directory: str, every: int, keep: int, num_steps: int, fingerprint: str,
        hooks: Hooks | None = None, layout: dict | None = None, also_accepted: tuple = (),
    ):  # fmt: skip
        self.directory = os.path.abspath(directory)
        self.every, self.num_steps, self.fingerprint = every, num_steps, fingerprint
        self.accepted = (fingerprint, *also_accepted)
        # Training time of the processes before this one (from the restored checkpoint), and
        # when this one started: each checkpoint records their sum.
        self.restored_seconds, self._started = 0.0, time.perf_counter()
        self.layout = layout or {}
        self.chunks: list[dict] = []  # per-chunk metrics, restored ones first
        self.steps: list[int] = []
        self.hooks = hooks or Hooks()
        _report_incomplete(self.directory)
        rename = atomicity.AtomicRenameTemporaryPath
        if self.hooks.before_commit is not None:
            rename = _rename_with_hook(self.hooks.before_commit)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            # Synchronous: when on_chunk returns, the checkpoint is complete on disk. Saving
            # takes ~45 ms for a 0.5 MB sweep, so overlapping it with training is not worth it.
            enable_async_checkpointing=False,
            cleanup_tmp_directories=True,
            temporary_path_class=rename,
        )
        self.manager = ocp.CheckpointManager(
            self.directory, options=options, item_names=("state", "history", "meta")
        )

    def restore_latest(self, target_state):
        """The newest good checkpoint's state (shaped like `target_state`), or None if none.

        The restored per-chunk history is kept and extended by `on_chunk`.
        """
        for step in sorted(self.manager.all_steps(), reverse=True):
            try:
                state, history, meta = self._restore(step, target_state)
            except CheckpointMismatchError:
                raise
            except Exception as error:  # any unreadable checkpoint: fall back to an older one
                self._set_aside(step, error)
                continue
            self.steps = [int(s) for s in history.pop("step")]
            self.chunks = [{k: v[i] for k, v in history.items()} for i in range(len(self.steps))]
            self.restored_seconds = float(meta.get("train_seconds", 0.0))
            self._started = time.perf_counter()
            logging.info("resuming from checkpoint %s/%d", self.directory, step)
            return state
        return None

    def _restore(self, step: int, target_state):
        meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        meta = meta.meta
        if meta["fingerprint"] not in self.accepted:
            raise CheckpointMismatchError(
                f"checkpoint {self.directory}/{step} was written by a different config; "
                "use a new workdir, or pass --overwrite to discard it."
            )
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, target_state)
        items = self.manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(target), history=ocp.args.StandardRestore()
            ),
        )
        state = jax.tree.map(np.asarray, items.state)
        history = {k: np.asarray(v) for k, v in items.history.items()}
        if digest((state, history)) != meta["digest"] or meta["step"] != step:
            raise ValueError("its contents do not match the digest written with it")
        if meta.get("layout", self.layout) != self.layout:
            logging.warning(
                "checkpoint %s/%d was written on devices %s and resumes on %s: the run goes on, "
                "but its numbers may differ in the last bits from an uninterrupted run on either "
                "layout (results are a function of config, seed and device layout).",
                self.directory, step, meta["layout"], self.layout,
            )  # fmt: skip
        return state, history, meta

    def _set_aside(self, step: int, error: Exception) -> None:
        target = os.path.join(self.directory + "_corrupt", f"{step}-{time.time_ns()}")
        logging.warning(
            "checkpoint %s/%d is corrupt or unreadable (%s: %.200s); moved it to %s and trying "
            "the previous one.",
            self.directory, step, type(error).__name__, error, target,
        )  # fmt: skip
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(os.path.join(self.directory, str(step)), target)
        self.manager.reload()

    def on_chunk(self, state, metrics) -> None:
        """run_sweep's callback: records the chunk's metrics and saves when one is due."""
        step = int(np.max(state.step))
        self.chunks.append(metrics)
        self.steps.append(step)
        stopped = "stopped" in metrics and np.all(metrics["stopped"])  # early stopping's end
        if step % self.every == 0 or step == self.num_steps or stopped:
            self.save(sharding.to_host(state))
        if self.hooks.after_chunk is not None:
            self.hooks.after_chunk(step)

    def train_seconds(self) -> float:
        """Wall seconds spent training this sweep so far, restored processes included."""
        return self.restored_seconds + time.perf_counter() - self._started

    def history(self) -> dict:
        """metric -> [chunks, S, H] and 'step' -> [chunks], restored chunks included."""
        if not self.chunks:
            return {}
        stacked = {k: np.stack([c[k] for c in self.chunks]) for k in self.chunks[0]}
        return {**stacked, "step": np.asarray(self.steps, np.int32)}

    def save(self, state) -> None:
        step = int(np.max(state.step))
        history = self.history()
        meta = {"step": step, "digest": digest((state, history)), "fingerprint": self.fingerprint,
                "layout": self.layout, "train_seconds": self.train_seconds()}  # fmt: skip
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            history=ocp.args.StandardSave(history),
            meta=ocp.args.JsonSave(meta),
        )
        try:
            self.manager.save(step, args=args, force=True)
            self.manager.wait_until_finished()
        except Exception as error:  # orbax wraps a full disk in ValueError/OSError
            if not _is_disk_full(error):
                raise
            raise WorkdirError(
                f"could not write the checkpoint of step {step} to {self.directory}: the disk "
                f"is full ({_first_line(error)}). The checkpoints already written are intact: "
                "free some space and rerun the same command to resume."
            ) from error

    def close(self) -> None:
        self.manager.close()


def _is_disk_full(error: BaseException) -> bool:
    """A full disk (ENOSPC), however orbax or tensorstore reports it."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        text = str(error)
        if "RESOURCE_EXHAUSTED" in text or "No space left on device" in text:
            return True
        error = error.__cause__ or error.__context__
    return False


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def latest_step(directory: str) -> int | None:
    """The newest complete checkpoint's step in `directory`, or None; reads no arrays."""
    if not os.path.isdir(directory):
        return None
    steps = [int(name) for name in os.listdir(directory) if name.isdigit()]
    return max(steps, default=None)


def saved_fingerprint(directory: str) -> str | None:
    """The config fingerprint of the newest complete checkpoint in `directory` (read from its
    meta item, no arrays), or None where there is none or it cannot be read."""
    step = latest_step(directory)
    try:
        with open(os.path.join(directory, str(step), "meta", "metadata")) as f:
            return json.load(f)["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _report_incomplete(directory: str) -> None:
    if not os.path.isdir(directory):
        return
    for name in sorted(os.listdir(directory)):
        if _TMP_MARK in name:
            logging.warning(
                "ignoring and deleting the incomplete checkpoint %s/%s (the process was "
                "stopped while writing it); resuming from the newest complete one.",
                directory, name,
            )  # fmt: skip
