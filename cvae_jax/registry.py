"""Name -> entry tables: a prior, a model kind or a data set is registered once, where it is
defined, and config validation, builders and launchers read the table (no lists to keep in
sync, as with big_vision's models looked up by name)."""

from collections.abc import Callable
from typing import Any, NamedTuple

from cvae_jax.errors import ConfigError


class Entry(NamedTuple):
    build: Callable[..., Any]
    # Keys this entry reads from its config section beyond those every entry reads: its own
    # keys, and the library keys only some entries read (a run of another entry leaves them
    # out of its checkpoints' fingerprint: identity.unread_keys).
    config_keys: frozenset[str]


class Registry:
    """Entries by name; `key` is the config key that selects one (e.g. 'model.prior')."""

    def __init__(self, key: str):
        self.key = key
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, config_keys=()) -> Callable:
        """Decorator: `@PRIORS.register("standard")` above the builder."""

        def add(build):
            if name in self._entries:
                raise ValueError(f"{self.key} {name!r} is registered twice.")
            self._entries[name] = Entry(build, frozenset(config_keys))
            return build

        return add

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            what = self.key.split(".")[-1].replace("_", " ")
            raise ConfigError(
                f"{self.key}: Unknown {what} {name!r}; choose one of {', '.join(self.names())}."
            )
        return self._entries[name]
