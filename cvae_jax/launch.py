"""What every launcher in experiments/ shares: its three flags and claiming the workdir."""

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import workdir


def define_flags(default_config: str):
    """--config (an ml_collections file, overridable as --config.key=value), --workdir, --overwrite."""
    config = config_flags.DEFINE_config_file("config", default_config)
    workdir_flag = flags.DEFINE_string(
        "workdir", None, "Directory for results, figures and checkpoints.", required=True
    )
    overwrite = flags.DEFINE_bool(
        "overwrite", False, "Discard the checkpoints of a run with another config in --workdir."
    )
    return config, workdir_flag, overwrite


def prepare_workdir(path: str, config, overwrite: bool) -> str:
    """workdir.prepare, with a bad config or a clashing workdir shown as a usage error.

    Runs before anything is compiled; returns "new", "resume" or "done".
    """
    try:
        status = workdir.prepare(path, config, overwrite)
    except ValueError as e:
        raise app.UsageError(str(e)) from e
    logging.info("workdir %s: %s run", path, status)
    return status
