"""The member axis of a sweep sharded over every visible device (a 1-D mesh named 'sweep').

Members are independent, so each device trains its own slice of members with no
communication except the tiny per-chunk metrics, which are gathered so that every process
can read them. The data is replicated. On several hosts, call `jax.distributed.initialize()`
first; `jax.devices()` then lists every host's devices and the same code runs unchanged.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "sweep"


def sweep_mesh(devices=None) -> Mesh:
    """A 1-D mesh over `devices` (default: all devices of all processes) with axis 'sweep'."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (AXIS,))


def member_spec(axis: int) -> P:
    """Sharding of an [S, H, ...] array along the seed (axis=0) or beta (axis=1) axis."""
    return P(AXIS) if axis == 0 else P(None, AXIS)


def shard_members(local_fn, mesh: Mesh, axis: int):
    """Runs `local_fn(state, data, keys, hyper)` on each device's slice of the members.

    The state is split along `axis` of [S, H]; the train keys [S] follow the seeds and the
    hyperparameters [H] follow the betas; the data is replicated. Metrics come back
    replicated (an all-gather of a few numbers per member), the state stays sharded.
    """
    spec = member_spec(axis)
    keys_spec = P(AXIS) if axis == 0 else P()
    hyper_spec = P(AXIS) if axis == 1 else P()

    def per_device(state, data, keys, hyper):
        state, metrics = local_fn(state, data, keys, hyper)
        gather = lambda m: jax.lax.all_gather(m, AXIS, axis=axis, tiled=True)
        return state, jax.tree.map(gather, metrics)

    return jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(spec, P(), keys_spec, hyper_spec),
        out_specs=(spec, P()),
        check_vma=False,
    )


def input_shardings(mesh: Mesh, axis: int):
    """NamedShardings of (state, data, keys, hyper) matching `shard_members`."""
    named = lambda spec: NamedSharding(mesh, spec)
    return (
        named(member_spec(axis)),
        named(P()),
        named(P(AXIS) if axis == 0 else P()),
        named(P(AXIS) if axis == 1 else P()),
    )
