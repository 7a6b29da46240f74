"""The one call a launcher makes before training: check the config and claim the workdir.

    status = workdir.prepare(path, config, variants, overwrite=False)

Layout of a workdir (every study alike): `config.json`, the study's results and figures,
and `checkpoints/<variant>/<step>/`, one checkpoint directory per compiled sweep.
`prepare` validates the config (before anything is compiled), checks that the workdir is a
directory it can write and locks it for this process (another run using it is refused,
named in a WorkdirError; the lock ends with the process, however it ends), then:
  * new or empty workdir: writes `config.json` and returns "new";
  * `config.json` of a run that never trained (no checkpoint, e.g. a data check stopped it):
    replaced by `config`, returns "new";
  * `config.json` equal to `config`: returns "done" when every variant's newest checkpoint
    is the last step (the study restores them without training and rewrites its outputs),
    else "resume" (each sweep continues from its newest checkpoint);
  * a config that differs only in keys that leave the trained sweeps as they are
    (`identity.keeps_checkpoints`: the evaluation settings, e.g. the number of importance
    samples, and `variants`): `config.json` is replaced and the status is that of an equal
    config, so trained variants are restored and evaluated again, new ones trained;
  * a config that differs in keys that leave every trained variant's sweep as it is (each
    variant's checkpoints still carry its config's fingerprint, e.g. a key only other
    families read, `identity.unread_keys`; a study's own keys are in every variant's):
    `config.json` is replaced and the status is that of an equal config. This needs
    `variants` as {name: the variant's config}; with names alone every trained variant
    counts as changed;
  * another different config: raises WorkdirConflictError listing the keys that differ and
    the trained variants they change, unless `overwrite` is true, which deletes those
    variants' checkpoints (the others resume) and returns "new" when none is left.
A library key that config.json lacks holds its default (a key added since the run began).
Keys that do not change results (`identity.LAYOUT_KEYS`: checkpoint frequency, device layout)
are left out of the comparison, so they can change between a run and its resumption.
"""

import json
import os
import shutil
import socket
import time
from collections.abc import Mapping

import jax
from absl import logging

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, the workdir is not locked
    fcntl = None

from cvae_jax import config as config_lib
from cvae_jax import identity
from cvae_jax.errors import WorkdirConflictError, WorkdirError
from cvae_jax.runs import results
from cvae_jax.training import checkpoint

CHECKPOINTS = "checkpoints"


def checkpoint_dir(workdir: str, variant: str) -> str:
    """Where the checkpoints of one variant's sweep go."""
    return os.path.join(workdir, CHECKPOINTS, variant)


def prepare(workdir: str, config, variants, overwrite: bool = False) -> str:
    """Validates `config` and makes `workdir` ready for it; returns "new", "resume" or "done".

    `variants`: the names of the sweeps the run trains, or {name: that variant's config},
    which lets a changed config keep the trained sweeps it leaves as they were.

    Raises:
      ConfigError: the config cannot run (names the key and what is allowed).
      WorkdirError: the workdir is a file or cannot be created or written.
      WorkdirConflictError: the workdir holds a run with a different config and not `overwrite`.
    """
    config_lib.validate(config)
    _claim(workdir)
    names = list(variants)
    saved_path = os.path.join(workdir, "config.json")
    if os.path.exists(saved_path):
        saved, comparable = _read_config(saved_path), identity.comparable(config)
        differences = _differences(saved, comparable)
        if not differences:
            if saved != comparable:  # keys added to the library since, at their defaults
                results.write_config(workdir, config)
            return _same_config_status(workdir, config, names)
        shown = "; ".join(list(differences.values())[:5])
        if all(map(identity.keeps_checkpoints, differences)):
            logging.info(
                "%s holds a run trained with this config; only the evaluation settings or the "
                "variants differ (%s): trained variants are restored and evaluated with them, "
                "the others trained.",
                workdir, shown,
            )  # fmt: skip
            results.write_config(workdir, config)
            return _same_config_status(workdir, config, names)
        if not _has_checkpoints(workdir):
            # Its run never trained (a data or config check stopped it): nothing to protect.
            logging.info(
                "%s holds the config of a run that never trained (no checkpoints); it is "
                "replaced by this one.", workdir,
            )  # fmt: skip
            results.write_config(workdir, config)
            return "new"
        changed = _changed_variants(workdir, variants)
        if not changed:
            logging.info(
                "%s holds a run with another config (%s), which leaves every trained variant "
                "as it was: they resume, the config is replaced.", workdir, shown,
            )  # fmt: skip
            results.write_config(workdir, config)
            return _same_config_status(workdir, config, names)
        if not overwrite:
            raise WorkdirConflictError(
                f"{workdir} holds a run with a different config ({shown}), which changes the "
                f"trained {_named(changed, names)}. Use another --workdir, or pass "
                "--overwrite to delete their checkpoints and train them again."
            )
        logging.warning("--overwrite: deleting the checkpoints of %s in %s", changed, workdir)
        for name in changed:
            shutil.rmtree(checkpoint_dir(workdir, name), ignore_errors=True)
        results.write_config(workdir, config)
        return _same_config_status(workdir, config, names) if _has_checkpoints(workdir) else "new"
    results.write_config(workdir, config)
    return "new"


def _named(changed: list[str], selected: list[str]) -> str:
    """'variant a' or 'variants a, b and c (not in this run's variants)'."""
    unselected = [name for name in changed if name not in selected]
    text = ", ".join(name for name in changed if name in selected)
    if unselected:  # their configs are not known here: changed as far as this run can tell
        text += f"{' and ' if text else ''}{', '.join(unselected)} (not in this run's variants)"
    return ("variant " if len(changed) == 1 else "variants ") + text


def _changed_variants(workdir: str, variants) -> list[str]:
    """The trained variants (with a checkpoint) whose newest checkpoint's fingerprint is not
    one their config in `variants` accepts; all of them where `variants` holds names only,
    and any trained variant `variants` does not name (its config is not known here)."""
    configs = variants if isinstance(variants, Mapping) else {}
    changed = []
    for name in _trained_variants(workdir):
        c = configs.get(name)
        accepted = () if c is None else (identity.fingerprint(c), *identity.older_fingerprints(c))
        if checkpoint.saved_fingerprint(checkpoint_dir(workdir, name)) not in accepted:
            changed.append(name)
    return changed


def _trained_variants(workdir: str) -> list[str]:
    """The variants of the run in `workdir` with a complete checkpoint, sorted."""
    root = os.path.join(workdir, CHECKPOINTS)
    names = sorted(os.listdir(root)) if os.path.isdir(root) else []
    return [v for v in names if checkpoint.latest_step(checkpoint_dir(workdir, v)) is not None]


def _has_checkpoints(workdir: str) -> bool:
    """Whether any variant of the run in `workdir` has a complete checkpoint."""
    return bool(_trained_variants(workdir))


def _claim(workdir: str) -> None:
    """A directory this process can write, or WorkdirError saying why not."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise WorkdirError(f"--workdir={workdir} is a file; pass a directory (new or existing).")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise WorkdirError(
            f"--workdir={workdir} cannot be created ({e.strerror}); pass a directory you can "
            "write to."
        ) from e
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise WorkdirError(
            f"--workdir={workdir} is not writable; pass a directory you can write to."
        )
    _lock(workdir)


# Workdirs this process holds: realpath -> the open lock file (the lock lives as long as it).
_HELD: dict[str, object] = {}


def _lock(workdir: str) -> None:
    """Holds an exclusive lock on `workdir` for the rest of this process, or raises
    WorkdirError naming the process that holds it: two runs writing one workdir's checkpoints
    and results would corrupt each other's. The kernel drops the lock when its process ends,
    however it ends (kill -9 included), so a stopped run never leaves the workdir locked."""
    key = os.path.realpath(workdir)
    if key in _HELD or fcntl is None:
        return
    path = os.path.join(workdir, f".lock-process-{jax.process_index()}")
    handle = open(path, "a+")  # noqa: SIM115 (kept open: closing it would release the lock)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise WorkdirError(
            f"--workdir={workdir} is in use by another run ({holder}); wait for it to end or "
            "stop it, or pass another --workdir."
        ) from None
    except OSError as e:  # a file system without locks (some network mounts)
        logging.warning("cannot lock %s (%s); make sure no other run uses it.", workdir, e)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.ctime()}")
    handle.flush()
    _HELD[key] = handle


def _read_config(path: str) -> dict:
    try:
        with open(path) as f:
            return identity.comparable(json.load(f))
    except (OSError, ValueError) as e:
        raise WorkdirError(
            f"{path} is unreadable ({e}); move it away or pass another --workdir."
        ) from e


def _same_config_status(workdir: str, config, variant_names: list[str]) -> str:
    steps = [checkpoint.latest_step(checkpoint_dir(workdir, v)) for v in variant_names]
    if all(step is not None and step >= config.training.num_steps for step in steps):
        logging.info(
            "%s already holds the finished run (step %d); restoring it and rewriting the "
            "outputs without training.",
            workdir, config.training.num_steps,
        )  # fmt: skip
        return "done"
    logging.info("%s holds this config; resuming from its newest checkpoints.", workdir)
    return "resume"


def _differences(old: dict, new: dict) -> dict[str, str]:
    """{dotted key: "key: old -> new"} for every key whose value differs, sorted by key. A
    library key one side lacks holds its default (`identity.library_defaults`): a run begun
    before the key was added resumes."""
    defaults, missing = identity.library_defaults(), "(absent)"

    def value(flat, key):
        return flat.get(key, defaults.get(key, missing))

    return {
        k: f"{k}: {value(old, k)!r} -> {value(new, k)!r}"
        for k in sorted(set(old) | set(new))
        if value(old, k) != value(new, k)
    }
