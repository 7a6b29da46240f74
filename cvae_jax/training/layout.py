"""How a sweep chunk runs: members in cache-sized groups, calls of bounded size, devices.

The result is the plain `jit(vmap_seeds(vmap_betas(train_chunk)))` computation, laid out so
that it runs fast and fits:
- groups: on CPU the members are trained `group_size` at a time (`lax.map` over groups,
  each group running the whole chunk of steps), so one group's activations stay in cache;
  on accelerators the default is one group holding every member;
- shared step: all members of a sweep are at the same step, so the step counter is not
  vmapped and each seed's minibatch and noise are drawn once for all of its betas;
- calls: if the members would not fit in device memory (judged from the compiled program),
  or exceed `max_members_per_call`, the [S, H] grid is split into equal pieces, one call
  each, all served by one compilation (the last piece padded by repeating a member);
- devices: each piece is sharded over a 1-D 'sweep' mesh of all devices (`sharding.py`);
- placement: the state a sweep returns is placed one way for a layout (`SweepChunk.place`),
  whether trained, assembled from pieces or restored from a checkpoint, so whatever is
  computed from it afterwards is the same compiled program.
"""

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from cvae_jax.training import sharding
from cvae_jax.training.sharding import device_memory_bytes
from cvae_jax.training.step import TrainState

# Members per group on CPU: small enough that a group's activations stay in the share of
# the cache this process gets on a shared VM; `python -m benchmarks.group_size` measures it
# (docs/performance.md). 16 was as fast as 32 on a quiet day; under load 2-8 beat 16.
CPU_GROUP_SIZE = 4
MEMORY_FRACTION = 0.6  # of device memory a call may plan to use


def _largest_divisor(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, max(limit, 1)) + 1) if n % d == 0)


def group_shape(num_seeds: int, num_betas: int, group_size: int) -> tuple[int, int]:
    """(seeds, betas) per group: divisors of the grid, at most `group_size` members."""
    gh = _largest_divisor(num_betas, group_size)
    return _largest_divisor(num_seeds, group_size // gh), gh


def make_grouped_chunk(train_chunk, group_size: int = 0):
    """`fn(state [S, H], data, keys [S], hyper [H])` training members group by group.

    group_size=0 puts every member in one group (a plain vmap over all of them).
    """
    shared_step = TrainState(0, 0, None, 0, 0)

    def one_seed(state, data, key, hyper):  # state [gh, ...]: the betas of one seed
        state = state._replace(step=state.step[0])  # members of a sweep share the step
        over_betas = jax.vmap(train_chunk, in_axes=(shared_step, None, None, 0))
        return over_betas(state, data, key, hyper)

    def one_group(data, group):
        state, keys, hyper = group  # [gs, gh, ...], [gs], [gh]
        return jax.vmap(one_seed, in_axes=(0, None, 0, None))(state, data, keys, hyper)

    def grouped(state, data, keys, hyper):
        S, H = np.shape(state.step)
        gs, gh = group_shape(S, H, group_size or S * H)
        ns, nh = S // gs, H // gh

        def to_groups(a):  # [S, H, ...] -> [ns * nh, gs, gh, ...]
            a = a.reshape(ns, gs, nh, gh, *a.shape[2:]).swapaxes(1, 2)
            return a.reshape(ns * nh, gs, gh, *a.shape[4:])

        def from_groups(a):  # the inverse
            a = a.reshape(ns, nh, gs, gh, *a.shape[3:]).swapaxes(1, 2)
            return a.reshape(S, H, *a.shape[4:])

        g_keys = jnp.broadcast_to(keys.reshape(ns, 1, gs), (ns, nh, gs)).reshape(-1, gs)
        tile = lambda v: jnp.broadcast_to(v.reshape(1, nh, gh), (ns, nh, gh)).reshape(-1, gh)
        groups = (jax.tree.map(to_groups, state), g_keys, jax.tree.map(tile, hyper))
        out = jax.lax.map(lambda g: one_group(data, g), groups)
        return jax.tree.map(from_groups, out)

    return grouped


def default_group_size(device) -> int:
    return CPU_GROUP_SIZE if device.platform == "cpu" else 0


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def plan_calls(S: int, H: int, num_devices: int, max_members: int):
    """(axis, ps, ph): pieces of ps seeds x ph betas, each one call sharded along `axis`.

    A piece holds at most max(max_members, num_devices) members, and its sharded axis is a
    multiple of num_devices; the grid is padded up to whole pieces. Of the two axes the one
    needing less padding is sharded (seeds on a tie).
    """
    best = None
    for axis in (0, 1):
        ph = min(H, max(1, max_members))
        ps = max(1, min(S, max_members // ph))
        if axis == 0:
            ps = _round_up(ps, num_devices)
        else:
            ph = _round_up(ph, num_devices)
        cost = _round_up(S, ps) * _round_up(H, ph)
        if best is None or cost < best[0]:
            best = (cost, axis, ps, ph)
    return best[1:]


def _take(tree, seeds=None, betas=None):
    """Rows `seeds` of axis 0 and `betas` of axis 1 (index arrays; repeats pad)."""
    take = lambda a: a if seeds is None else a[seeds]
    tree = jax.tree.map(take, tree)
    if betas is not None:
        tree = jax.tree.map(lambda a: a[:, betas], tree)
    return tree


def _abstract(named_sharding, tree):
    shape = lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=named_sharding)
    return jax.tree.map(shape, tree)


def _piece_index(start: int, size: int, limit: int) -> np.ndarray:
    return np.minimum(np.arange(start, start + size), limit - 1)


class SweepChunk:
    """Called like `jit(vmap_seeds(vmap_betas(train_chunk)))` and returns the same numbers.

    `chunk(state [S, H, ...], data, train_keys [S], hyper {name: [H]})` -> (state, metrics
    {name: [S, H]}). The state is donated. Every call shape is compiled once and cached.

    Args:
      train_chunk: the unvmapped `train_chunk(state, data, train_key, hyper)`.
      group_size: members per cache-sized group; None picks by platform, 0 means one group.
      max_members_per_call: cap on members per call; 0 derives it from device memory.
      devices: devices of the 'sweep' mesh (default all); one device means no sharding.
    """

    def __init__(self, train_chunk, group_size=None, max_members_per_call=0, devices=None):
        self.devices = list(jax.devices() if devices is None else devices)
        if group_size is None:
            group_size = default_group_size(self.devices[0])
        self.group_size, self.max_members_per_call = group_size, max_members_per_call
        self._train_chunk, self._single = train_chunk, None
        self._local = make_grouped_chunk(train_chunk, group_size)
        self._mesh = sharding.sweep_mesh(self.devices) if len(self.devices) > 1 else None
        self._executables, self._caps, self._logged = {}, {}, set()

    def __call__(self, state, data, keys, hyper):
        S, H = np.shape(state.step)
        if self._mesh is not None and S * H < len(self.devices):
            return self._unsharded()(state, data, keys, hyper)
        cap = self.max_members_per_call or self._auto_cap(S, H, state, data, keys, hyper)
        axis, ps, ph = plan_calls(S, H, len(self.devices), cap)
        if (ps, ph) == (S, H):
            return self._run(axis, state, data, keys, hyper)
        if ps >= S and ph >= H:  # one call, padded so the devices divide it
            self._log_once(
                ("pad", S, H),
                "%d seeds x %d grid points do not divide %d devices: padded to %d x %d with copies "
                "of the last member (their results are discarded).",
                S, H, len(self.devices), ps, ph,
            )  # fmt: skip
            si, hi = _piece_index(0, ps, S), _piece_index(0, ph, H)
            out = self._run(
                axis, _take(state, si, hi), data, keys[si], _take(hyper, hi)
            )  # hyper: [H]
            return jax.tree.map(lambda a: a[:S, :H], out)
        return self._run_pieces(axis, ps, ph, state, data, keys, hyper)

    def resting_axis(self, S: int, H: int) -> int | None:
        """The axis of [S, H] that `place` shards a sweep's state along: the seeds (0), else
        the betas (1), whichever the devices divide; None (one device) if neither."""
        n = len(self.devices)
        if self._mesh is None or S * H < n:
            return None
        return 0 if S % n == 0 else 1 if H % n == 0 else None

    def place(self, state):
        """`state` [S, H, ...] in the one placement of this layout, whatever produced it.

        A state comes back from one sharded call, from a padded call (sliced), from several
        calls assembled on the host, or from a checkpoint as numpy arrays. What is computed
        from it afterwards (a study's evaluation) compiles for the placement of its inputs,
        and XLA partitions and vectorises a sharded program differently from a one-device
        one: the last bits of a result would depend on the path that produced the state.
        Placed here, a resumed or restored sweep is evaluated by the same program as an
        uninterrupted one. The placement is that of an unpadded call: the members sharded
        along `resting_axis`, the step and divergence counters replicated; else one device.
        """
        axis = self.resting_axis(*np.shape(state.step))
        if axis is None:
            return jax.device_put(state, self.devices[0])
        return sharding.put(state, sharding.input_shardings(self._mesh, axis)[0])

    def _unsharded(self) -> "SweepChunk":
        """Fewer members than devices: padding would cost more than it gains; one device."""
        if self._single is None:
            self._log_once("single", "fewer sweep members than devices: running on one device.")
            self._single = SweepChunk(
                self._train_chunk, self.group_size, self.max_members_per_call,
                jax.local_devices()[:1],
            )  # fmt: skip
        return self._single

    def _log_once(self, key, message, *args):
        if key not in self._logged:
            self._logged.add(key)
            logging.info(message, *args)

    def _run_pieces(self, axis, ps, ph, state, data, keys, hyper):
        """Several calls, assembled on the host: only one piece is on the device at a time."""
        S, H = np.shape(state.step)
        calls = -(-S // ps) * -(-H // ph)
        self._log_once(
            ("pieces", S, H), "sweep of %d x %d members runs as %d calls of %d x %d members.",
            S, H, calls, ps, ph,
        )  # fmt: skip
        out = None
        for i in range(0, S, ps):
            si, vs = _piece_index(i, ps, S), min(ps, S - i)
            for j in range(0, H, ph):
                hi, vh = _piece_index(j, ph, H), min(ph, H - j)
                args = (_take(state, si, hi), data, keys[si], _take(hyper, hi))
                piece = jax.device_get(self._run(axis, *args))
                if out is None:
                    out = jax.tree.map(lambda a: np.empty((S, H, *a.shape[2:]), a.dtype), piece)
                for o, p in zip(jax.tree.leaves(out), jax.tree.leaves(piece), strict=True):
                    o[i : i + vs, j : j + vh] = p[:vs, :vh]
        return out

    def _run(self, axis, state, data, keys, hyper):
        args = (state, data, keys, hyper)
        if self._mesh is not None:
            args = sharding.put(args, sharding.input_shardings(self._mesh, axis))
        return self.executable(axis, *args)(*args)

    def executable(self, axis: int, state, data, keys, hyper):
        """The compiled call for arguments of these shapes (HLO: `.as_text()`)."""
        args = (state, data, keys, hyper)
        key = (axis, tuple((a.shape, str(a.dtype)) for a in jax.tree.leaves(args)))
        if key not in self._executables:
            fn = self._local
            if self._mesh is not None:
                fn = sharding.shard_members(fn, self._mesh, axis)
                args = jax.tree.map(
                    _abstract, sharding.input_shardings(self._mesh, axis), args,
                    is_leaf=lambda x: isinstance(x, jax.sharding.Sharding),
                )  # fmt: skip
            self._executables[key] = jax.jit(fn, donate_argnums=0).lower(*args).compile()
        return self._executables[key]

    def planned_bytes(self) -> int:
        """XLA's planned arguments + outputs + temporaries of the largest compiled call."""
        sizes = [
            m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes
            for m in (e.memory_analysis() for e in self._executables.values())
        ]
        return max(sizes, default=0)

    def prepare(self, state, data, keys, hyper) -> "SweepChunk":
        """Plans and compiles the calls for arguments like these, without running them."""
        S, H = np.shape(state.step)
        cap = self.max_members_per_call or self._auto_cap(S, H, state, data, keys, hyper)
        axis, ps, ph = plan_calls(S, H, len(self.devices), cap)
        self.executable(axis, *_abstract_piece(ps, ph, state, data, keys, hyper))
        return self

    def _auto_cap(self, S, H, state, data, keys, hyper) -> int:
        """All members in one call if the compiled program fits in device memory, else fewer."""
        if (S, H) not in self._caps:
            axis, ps, ph = plan_calls(S, H, len(self.devices), S * H)
            args = _abstract_piece(ps, ph, state, data, keys, hyper)
            m = self.executable(axis, *args).memory_analysis()
            need = m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes
            local = [d for d in self.devices if d.process_index == jax.process_index()]
            budget = MEMORY_FRACTION * device_memory_bytes(local[0])
            cap = S * H if need <= budget else max(1, int(ps * ph * budget / need))
            if cap < S * H:
                logging.info(
                    "A call of %d members needs ~%.1f GB per device; splitting the sweep into "
                    "calls of at most %d members (sweep.max_members_per_call).",
                    ps * ph, need / 1e9, cap,
                )  # fmt: skip
            self._caps[S, H] = cap
        return self._caps[S, H]


def _abstract_piece(ps, ph, state, data, keys, hyper):
    """Shapes of one call's arguments: ps seeds x ph betas."""
    shape = lambda a, lead: jax.ShapeDtypeStruct((*lead, *a.shape[len(lead) :]), a.dtype)
    return (
        jax.tree.map(lambda a: shape(a, (ps, ph)), state),
        data,
        shape(keys, (ps,)),
        jax.tree.map(lambda a: shape(a, (ph,)), hyper),
    )
