"""The member axis of a sweep sharded over every visible device (a 1-D mesh named 'sweep').

Members are independent, so each device trains its own slice of members with no
communication except the tiny per-chunk metrics, which are gathered so that every process
can read them. The data is replicated. On several hosts, call `jax.distributed.initialize()`
first; `jax.devices()` then lists every host's devices and the same code runs unchanged.
"""

import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from cvae_jax.training.step import TrainState

AXIS = "sweep"


def to_host(tree):
    """`tree` as host numpy arrays on every process.

    An array sharded over several processes' devices (a multi-host sweep's parameters) is
    gathered from all of them (`process_allgather`; every process must call this together).
    """

    def leaf(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(a, tiled=True))
        return np.asarray(a)

    return jax.tree.map(leaf, tree)


def put(tree, shardings):
    """jax.device_put(tree, shardings), also when the shardings span several processes.

    Each process holds the whole (identical) value of an input; across processes every
    device takes its own slice of it (`make_array_from_callback`).
    """
    if jax.process_count() == 1:
        return jax.device_put(tree, shardings)

    def leaf(a, named):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return jax.device_put(a, named)
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):  # typed keys: their raw bits
            impl = jax.random.key_impl(a)
            return jax.random.wrap_key_data(leaf(jax.random.key_data(a), named), impl=impl)
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, named, lambda index: host[index])

    def subtree(named, sub):  # `shardings` is a prefix of `tree`
        return jax.tree.map(lambda a: leaf(a, named), sub)

    is_sharding = lambda x: isinstance(x, jax.sharding.Sharding)  # noqa: E731
    return jax.tree.map(subtree, shardings, tree, is_leaf=is_sharding)


def device_memory_bytes(device) -> int:
    """Memory one device may use: its allocator limit, or the host RAM shared by CPU devices."""
    stats = device.memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return ram // max(1, jax.local_device_count())


def sweep_mesh(devices=None) -> Mesh:
    """A 1-D mesh over `devices` (default: all devices of all processes) with axis 'sweep'."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (AXIS,))


def member_spec(axis: int) -> P:
    """Sharding of an [S, H, ...] array along the seed (axis=0) or beta (axis=1) axis."""
    return P(AXIS) if axis == 0 else P(None, AXIS)


def _state_spec(axis: int) -> TrainState:
    """Parameters and optimiser state split over devices; the small [S, H] counters
    (step, diverged_at) replicated, so every process can read progress and divergence."""
    spec = member_spec(axis)
    return TrainState(spec, spec, P(), P(), spec)


def shard_members(local_fn, mesh: Mesh, axis: int):
    """Runs `local_fn(state, data, keys, hyper)` on each device's slice of the members.

    The state is split along `axis` of [S, H]; the train keys [S] follow the seeds and the
    hyperparameters [H] follow the betas; the data is replicated. Metrics and the step and
    divergence counters come back replicated (an all-gather of a few numbers per member).
    """
    keys_spec = P(AXIS) if axis == 0 else P()
    hyper_spec = P(AXIS) if axis == 1 else P()
    gather = lambda m: jax.lax.all_gather(m, AXIS, axis=axis, tiled=True)

    def local_slice(a):
        size = a.shape[axis] // mesh.shape[AXIS]
        return jax.lax.dynamic_slice_in_dim(a, jax.lax.axis_index(AXIS) * size, size, axis)

    def per_device(state, data, keys, hyper):
        state = state._replace(step=local_slice(state.step))
        state = state._replace(diverged_at=local_slice(state.diverged_at))
        state, metrics = local_fn(state, data, keys, hyper)
        state = state._replace(step=gather(state.step), diverged_at=gather(state.diverged_at))
        return state, jax.tree.map(gather, metrics)

    return jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(_state_spec(axis), P(), keys_spec, hyper_spec),
        out_specs=(_state_spec(axis), P()),
        check_vma=False,
    )


def input_shardings(mesh: Mesh, axis: int):
    """NamedShardings of (state, data, keys, hyper) matching `shard_members`."""
    named = lambda spec: NamedSharding(mesh, spec)
    return (
        jax.tree.map(named, _state_spec(axis), is_leaf=lambda x: isinstance(x, P)),
        named(P()),
        named(P(AXIS) if axis == 0 else P()),
        named(P(AXIS) if axis == 1 else P()),
    )
