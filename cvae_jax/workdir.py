"""The one call a launcher makes before training: check the config and claim the workdir.

    status = workdir.prepare(FLAGS.workdir, config, overwrite=FLAGS.overwrite)
    setup, result = runner.train_sweep(config, workdir=FLAGS.workdir)

`prepare` validates the config (before anything is compiled), then:
  * new or empty workdir: writes `config.json` and returns "new";
  * `config.json` equal to `config`: returns "resume" (train_sweep continues from the newest
    checkpoint) or "done" when the newest checkpoint is the last step (train_sweep restores it
    without training, and the launcher rewrites its outputs from it);
  * a different config: raises WorkdirConflictError listing the keys that differ, unless
    `overwrite` is true, which deletes the old checkpoints and starts afresh ("new").
Keys that do not change results (IGNORED_KEYS: checkpoint frequency, device layout) are left
out of the comparison, so they can change between a run and its resumption.
"""

import hashlib
import json
import os
import shutil

from absl import logging

from cvae_jax import checkpoint, config_validation, results

CHECKPOINTS = "checkpoints"
# Keys that do not change results: how often checkpoints are written and how many are kept,
# and how members are laid out on devices (so a run may resume on another machine).
IGNORED_KEYS = (
    "training.checkpoint_every",
    "training.checkpoints_to_keep",
    "sweep.group_size",
    "sweep.max_members_per_call",
    "sweep.num_devices",
)


class WorkdirConflictError(ValueError):
    """The workdir holds a run made with another config."""


def comparable(config) -> dict:
    """The config as flat {dotted key: JSON value}, without IGNORED_KEYS."""
    tree = json.loads(config.to_json_best_effort()) if hasattr(config, "to_json") else config
    return {k: v for k, v in _flatten(tree).items() if k not in IGNORED_KEYS}


def fingerprint(config) -> str:
    """A short hash of `comparable(config)`: equal for configs that give the same results."""
    text = json.dumps(comparable(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(workdir, CHECKPOINTS)


def prepare(workdir: str, config, overwrite: bool = False) -> str:
    """Validates `config` and makes `workdir` ready for it; returns "new", "resume" or "done".

    Raises:
      config_validation.ConfigError: the config cannot run (names the key and what is allowed).
      WorkdirConflictError: the workdir holds a run with a different config and not `overwrite`.
    """
    config_validation.validate(config)
    saved_path = os.path.join(workdir, "config.json")
    if os.path.exists(saved_path):
        with open(saved_path) as f:
            differences = _differences(comparable(json.load(f)), comparable(config))
        if not differences:
            return _same_config_status(workdir, config)
        if not overwrite:
            raise WorkdirConflictError(
                f"{workdir} holds a run with a different config ({'; '.join(differences[:5])}). "
                "Use another --workdir, or pass --overwrite to delete its checkpoints and "
                "start again."
            )
        logging.warning("--overwrite: deleting the checkpoints of the old run in %s", workdir)
        for path in _checkpoint_dirs(workdir):
            shutil.rmtree(path, ignore_errors=True)
    results.write_config(workdir, config)
    return "new"


def _checkpoint_dirs(workdir: str) -> list[str]:
    """Every checkpoint directory under `workdir`, also those of launchers that run several
    sweeps into sub-workdirs (one per prior variant or quadrant setting)."""
    names, found = (CHECKPOINTS, CHECKPOINTS + "_corrupt"), []
    for root, dirs, _ in os.walk(workdir):
        found += [os.path.join(root, d) for d in dirs if d in names]
        dirs[:] = [d for d in dirs if d not in names]  # do not descend into them
    return found


def _same_config_status(workdir: str, config) -> str:
    step = checkpoint.latest_step(checkpoint_dir(workdir))
    if step is not None and step >= config.training.num_steps:
        logging.info(
            "%s already holds the finished run (step %d); restoring it and rewriting the "
            "outputs without training.",
            workdir, step,
        )  # fmt: skip
        return "done"
    # Launchers that train several sweeps keep their checkpoints in subdirectories, which
    # this does not look into: "resume" is then always reported, and is always safe.
    logging.info("%s holds this config; resuming from its newest checkpoints.", workdir)
    return "resume"


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    missing = "(absent)"
    return [
        f"{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}"
        for k in keys
        if old.get(k, missing) != new.get(k, missing)
    ]


def _flatten(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return flat
