"""What every launcher in experiments/ does: its four flags, the workdir claim, the study run,
and the project's own errors shown as one line without a traceback.

    launch.run(toy2d.STUDY, "configs/toy2d.py")   # the whole body of experiments/toy2d.py

A `CvaeError` (bad config, bad data file, unusable or clashing workdir, a diverged member
with on_nonfinite='raise') prints `error: <message>` and exits with its exit code (2 for a
config error, 1 otherwise); anything else is a bug and keeps its traceback.
"""

import importlib
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from cvae_jax import checks
from cvae_jax.config import GRID_AXES
from cvae_jax.errors import ConfigError, CvaeError
from cvae_jax.runs import devices, workdir
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
    flags.DEFINE_multi_string(
        "import", [], "A Python module to import before the config is read, e.g. one that "
        "registers your own prior, posterior, model kind or data set (repeatable).",
    )  # fmt: skip
    flags.DEFINE_integer(
        "cpu_devices", 0, "XLA CPU devices the sweep is sharded over: 0 = one per core (the "
        "default), 1 = a single device. Ignored on GPU/TPU; XLA_FLAGS's "
        "--xla_force_host_platform_device_count, if set, takes precedence over 0.",
    )  # fmt: skip
    return config, workdir_flag, overwrite


def run_study(study: Study, config, path: str, overwrite: bool = False) -> dict:
    """Validates, claims the workdir, runs the study and logs its report."""
    study.validate(config)
    variants = {v.name: v.config for v in study.variants(config)}
    status = workdir.prepare(path, config, variants, overwrite)
    names = list(variants)
    logging.info("workdir %s: %s run (%s: %s)", path, status, study.name, ", ".join(names))
    out = study.run(config, path)
    for line in study.report(out):
        logging.info("%s", line)
    return out


def _fail(message: str, exit_code: int) -> None:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")  # one line
    sys.exit(exit_code)


def _innermost_message(error: BaseException) -> str:
    """The text of an error, unwrapped from the KeyError/AttributeError chains of ConfigDict;
    of a message that embeds a traceback (a config file that raised) only its last line."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    text = str(error.args[0]) if error.args else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and ("Traceback" in text or isinstance(error, OSError)):
        return lines[-1]
    return " ".join(lines)


def import_user_modules(argv) -> list[str]:
    """Imports every `--import=MODULE` (or `--import MODULE`) of argv, before the flags are
    parsed, so that the registrations they make exist when the config file is read."""
    names = [a.split("=", 1)[1] for a in argv if a.startswith("--import=")]
    names += [b for a, b in zip(argv, argv[1:], strict=False) if a == "--import"]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            _fail(
                f"--import={name}: {e}. Give a module importable from the current directory "
                "(my_families for ./my_families.py) or installed in this environment.",
                2,
            )
    return names


def _installed_root() -> str | None:
    """The directory holding the `experiments/` of the running launcher, and so `configs/`
    (both are installed with the package): found from `__main__`, not imported."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.dirname(os.path.dirname(os.path.abspath(main_file))) if main_file else None


def resolve_config_path(path: str) -> str:
    """`configs/x.py[:arg]` as given when it exists from here, else the launcher's own
    installed copy, so a command copied from the docs runs from any directory."""
    file, sep, arg = path.partition(":")
    root = _installed_root()
    if os.path.isabs(file) or os.path.exists(file) or root is None:
        return path
    installed = os.path.join(root, file)
    return installed + sep + arg if os.path.exists(installed) else path


def _resolve_config_args(argv) -> list[str]:
    out = []
    for arg in argv:
        if arg.startswith("--config=") and not arg.startswith("--config=/"):
            resolved = resolve_config_path(arg.removeprefix("--config="))
            if resolved != arg.removeprefix("--config="):
                logging.info("--config: using the installed %s", resolved)
            arg = "--config=" + resolved
        out.append(arg)
    return out


def parse_flags(argv):
    """absl's flag parsing, with a bad --config file, argument or override shown as one line.

    ml_collections raises plain AttributeError/KeyError/TypeError/ValueError for a misspelt
    or ill-typed `--config.key=value` while the flags are parsed, before any of our code runs,
    and wraps an error raised by the config file's get_config (our ConfigError included).
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `--import=my_module` finds ./my_module.py
    import_user_modules(argv)
    argv = _resolve_config_args(argv)
    try:
        return flags.FLAGS(argv)
    except (flags.Error, AttributeError, KeyError, OSError, TypeError, ValueError) as e:
        message = _innermost_message(e)
        _fail(_unknown_key(argv, message) or f"bad command line: {message}", 2)


def _unknown_key(argv, key: str) -> str | None:
    """For a bare KeyError (a key with no close match): which override named it, and the fix."""
    for arg in argv:
        dotted = arg.split("=")[0].removeprefix("--").removeprefix("config.")
        if arg.startswith("--config.") and dotted.split(".")[-1] == key.strip("'\""):
            if dotted.startswith("sweep.grid."):
                try:
                    checks.grid_names([dotted.split(".")[-1]], tuple(GRID_AXES))
                except ConfigError as e:
                    return str(e)
            return f"Unknown config key {dotted} in {arg}; check its spelling in the config file."
    return None


def run(study: Study, default_config: str) -> None:
    """Defines the flags and runs `study` from the command line."""
    config, path, overwrite = define_flags(resolve_config_path(default_config))

    def main(argv):
        if len(argv) > 1:
            _fail(f"unexpected arguments {argv[1:]}; every option is a --flag (--config...).", 2)
        try:
            config.value.keys()  # a --config file that failed to load raises OSError here
        except OSError as e:
            root = _installed_root()
            where = f"; the launchers' configs are in {root}/configs" if root else ""
            _fail(f"bad --config: {_innermost_message(e)}{where}", 2)
        try:
            devices.use_cpu_devices(flags.FLAGS.cpu_devices)  # before JAX's first operation
            logging.info("devices: %s", devices.describe())
            run_study(study, config.value, path.value, overwrite.value)
        except CvaeError as e:
            _fail(str(e), e.exit_code)

    app.run(main, flags_parser=parse_flags)
