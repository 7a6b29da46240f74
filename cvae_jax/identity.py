"""Which keys make a run the same run: what config.json holds and what a checkpoint's
fingerprint covers.

A run's config is written to `config.json` with its grid resolved (`resolved_tree`). A
later run on the same workdir compares its config with that file key by key (`comparable`);
keys that only lay members out on devices or set the checkpoint frequency (`LAYOUT_KEYS`)
never count, and keys read only after training (`keeps_checkpoints`) reuse the trained
checkpoints. Each checkpoint carries a `fingerprint` of the keys that train it, so a changed
setting is caught even without config.json, and a key added to the library later, at its
default, leaves the fingerprint of a run begun without it (`library_defaults`), and so does a
key only other families read (`unread_keys`: the VampPrior's pseudo-inputs in a run of the
standard prior), so a study's workdir keeps the sweeps such a change leaves as they were.
"""

import copy
import hashlib
import json

from cvae_jax import config as config_lib

# Keys that do not change results: how often checkpoints are written and how many are kept,
# and how members are laid out on devices (so a run may resume on another machine).
LAYOUT_KEYS = (
    "training.checkpoint_every",
    "training.checkpoints_to_keep",
    "sweep.group_size",
    "sweep.max_members_per_call",
    "sweep.num_devices",
    "logging.tensorboard",
)
# Keys that leave every trained sweep as it is: the sections read only after training
# (test-set sizes, sample counts, figure sizes) and a study's `variants`, which picks the
# sweeps to run, each checkpointed in its own directory. A change there reuses the trained
# checkpoints (the fingerprint leaves these keys out) and trains only variants not yet trained.
EVALUATION_SECTIONS = ("evaluation",)
SELECTION_KEYS = ("variants",)
LIBRARY = "cvae_jax."  # where the library's own registry entries are defined


def resolved_tree(config) -> dict:
    """The config as a JSON tree with its grid resolved: `sweep.grid.<name>` holds the values
    every axis actually trains (`grid`), and each axis's own key agrees with it (the values
    for `sweep.betas`, the one value or the default for the others), so the tree read back
    trains the same grid and says so. What `config.json` holds."""
    tree = json.loads(config.to_json_best_effort()) if hasattr(config, "to_json") else config
    if "sweep" not in tree:
        return tree
    tree, values, default = copy.deepcopy(tree), config_lib.grid(tree), config_lib.base_config()
    tree["sweep"]["grid"] = {name: list(v) for name, v in values.items()}
    for name, key in config_lib.GRID_AXES.items():
        section, field = key.split(".")
        own = list(values[name]) if name == "beta" else values[name][0]
        if name != "beta" and len(values[name]) > 1:
            own = config_lib.value_at(default, key)  # several values: the axis holds them
        tree.setdefault(section, {})[field] = own
    return tree


def comparable(config) -> dict:
    """The config, grid resolved, as flat {dotted key: JSON value}, without LAYOUT_KEYS: equal
    for a config as given and as written to config.json."""
    return {k: v for k, v in _flatten(resolved_tree(config)).items() if k not in LAYOUT_KEYS}


def keeps_checkpoints(dotted: str) -> bool:
    """Whether a `comparable` key can change without retraining a trained sweep: read only
    after training (`EVALUATION_SECTIONS`) or choosing the sweeps (`SELECTION_KEYS`)."""
    return dotted in SELECTION_KEYS or dotted.split(".", 1)[0] in EVALUATION_SECTIONS


def library_defaults() -> dict:
    """`comparable(base_config())`: the value a library key holds in a config that lacks it.

    The rule for a key added to `base_config`: its default trains as the library did before
    the key existed. So a config.json or a checkpoint written before the key was added is read
    as holding the default, and a run in progress resumes across the change."""
    return comparable(config_lib.base_config())


def unread_keys(config) -> frozenset[str]:
    """Library keys `config` does not read: those that only some of the library's families
    read (declared in their registry entries' `config_keys`) and none it selects does, e.g.
    `model.pseudo_inputs` (the VampPrior's) in a run of the standard prior. Empty when it
    selects a family registered outside the library (`--import`): that one may read any key."""
    selected = config_lib.selected_entries(resolved_tree(config))
    if not all(map(_in_library, selected.values())):
        return frozenset()
    read = {_dotted(selector, key) for selector, e in selected.items() for key in e.config_keys}
    declared = {
        _dotted(selector, key)
        for selector, registry in config_lib.FAMILIES.items()
        for entry in map(registry.get, registry.names())
        if _in_library(entry)
        for key in entry.config_keys
    }
    return frozenset(declared - read)


def _in_library(entry) -> bool:
    return entry.build.__module__.startswith(LIBRARY)


def _dotted(selector: str, key: str) -> str:
    """`model.pseudo_inputs` for the selector `model.prior` and the key `pseudo_inputs`."""
    return f"{selector.split('.')[0]}.{key}"


def fingerprint(config) -> str:
    """A short hash of the keys that train a variant's sweep: `comparable(config)` without the
    `keeps_checkpoints` keys, without keys at their library default (`library_defaults`), so
    a key added to the library later leaves the fingerprint of a run begun without it, and
    without the keys it does not read (`unread_keys`)."""
    unread = unread_keys(config)
    return _hash({k: v for k, v in _read_non_default(config).items() if k not in unread})


def older_fingerprints(config) -> tuple[str, ...]:
    """The fingerprints older checkpoints carry for the same config, still accepted, newest
    first: keys the run does not read included (until commit c01ff21), every trained key
    with defaults included, and every comparable key, evaluation settings included."""
    return _hash(_read_non_default(config)), _hash(_trained(config)), _hash(comparable(config))


def _read_non_default(config) -> dict:
    defaults, missing = library_defaults(), object()
    return {k: v for k, v in _trained(config).items() if defaults.get(k, missing) != v}


def _trained(config) -> dict:
    return {k: v for k, v in comparable(config).items() if not keeps_checkpoints(k)}


def _hash(flat: dict) -> str:
    return hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:16]


def _flatten(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return flat
