"""What every launcher in experiments/ does: its three flags, the workdir claim, the study run,
and the project's own errors shown as one line without a traceback.

    launch.run(toy2d.STUDY, "configs/toy2d.py")   # the whole body of experiments/toy2d.py

A `CvaeError` (bad config, bad data file, unusable or clashing workdir, a diverged member
with on_nonfinite='raise') prints `error: <message>` and exits with its exit code (2 for a
config error, 1 otherwise); anything else is a bug and keeps its traceback.
"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax.errors import CvaeError
from cvae_jax.runs import workdir
from cvae_jax.runs.study import Study


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


def run_study(study: Study, config, path: str, overwrite: bool = False) -> dict:
    """Validates, claims the workdir, runs the study and logs its report."""
    study.validate(config)
    names = [v.name for v in study.variants(config)]
    status = workdir.prepare(path, config, names, overwrite)
    logging.info("workdir %s: %s run (%s: %s)", path, status, study.name, ", ".join(names))
    out = study.run(config, path)
    for line in study.report(out):
        logging.info("%s", line)
    return out


def run(study: Study, default_config: str) -> None:
    """Defines the flags and runs `study` from the command line."""
    config, path, overwrite = define_flags(default_config)

    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}; every option is a --flag.")
        try:
            run_study(study, config.value, path.value, overwrite.value)
        except CvaeError as e:
            sys.stderr.write(f"error: {e}\n")
            sys.exit(e.exit_code)

    app.run(main)
