"""Autoregressive affine bijectors for inverse autoregressive flows and flow priors.

`AutoregressiveAffine` is y = x * exp(log_scale(x)) + shift(x) with (shift, log_scale)_i functions
of x_<i only: the inverse autoregressive flow of Kingma et al. 2016 (eq. 10) in its sampling
direction; wrapped in `distrax.Inverse` it is the autoregressive-flow prior of Chen et al. 2017
(VLAE), whose density takes a single pass.

Both act on events of one axis (event_ndims_in = 1) with any leading batch axes, and work with
`distrax.Transformed`, `distrax.Inverse` and `distrax.Chain`, under jax.jit and jax.vmap.
"""

from collections.abc import Callable

import distrax
import jax
import jax.numpy as jnp

from cvae_jax.errors import ConfigError

ParamsFn = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


class AutoregressiveAffine(distrax.Bijector):
    """y = x * exp(log_scale(x)) + shift(x), with (shift, log_scale)_i functions of x_<i only.

    The IAF direction (Kingma et al. 2016, eq. 10): forward (sampling) is one pass of params_fn;
    inverse needs D passes (each fixes one more coordinate). event_ndims_in = 1.

    params_fn: x [..., D] -> (shift [..., D], log_scale [..., D]), autoregressive in x and pure,
    e.g. `lambda x: made.apply(variables, x, context)`. Its arrays are closed over, so gradients
    reach them when the bijector is built inside the differentiated (or jitted, vmapped) function;
    distrax treats a callable as static data, so build it there rather than pass it in as an
    argument. log_scale is used as given: bounding it (e.g. with tanh) is the caller's choice.
    """

    def __init__(self, params_fn: ParamsFn, event_size: int):
        if isinstance(event_size, bool) or not isinstance(event_size, int) or event_size < 1:
            raise ConfigError(
                f"AutoregressiveAffine: event_size must be an integer >= 1; got {event_size!r}."
            )
        super().__init__(event_ndims_in=1, is_constant_jacobian=False)
        self._params_fn = params_fn
        self._event_size = event_size

    @property
    def event_size(self) -> int:
        return self._event_size

    def _check_event(self, x, what: str) -> None:
        # The inverse runs exactly D passes, so an event of another size would come back wrong.
        if jnp.ndim(x) < 1 or jnp.shape(x)[-1] != self._event_size:
            raise ValueError(
                f"{self.name}: {what} must have shape [..., {self._event_size}]; "
                f"got {jnp.shape(x)}."
            )

    def forward_and_log_det(self, x):
        """y = f(x) [..., D] and log|det J_f(x)| = sum(log_scale(x), -1) [...] in one pass."""
        self._check_event(x, "x")
        shift, log_scale = self._params_fn(x)  # [..., D] each
        return x * jnp.exp(log_scale) + shift, jnp.sum(log_scale, axis=-1)

    def inverse_and_log_det(self, y):
        """x = f^-1(y) [..., D] and log|det J_f^-1(y)| = -sum(log_scale(x), -1) [...] in D passes.

        Pass k computes x from the parameters at the previous estimate; x_<k are already exact,
        so x_k becomes exact too (Kingma et al. 2016). Starting from zeros, D passes
        give x exactly, and the last pass's log_scale is log_scale(x): every output i reads only
        x_<i, which were exact before it.
        """
        self._check_event(y, "y")

        def one_pass(x):
            shift, log_scale = self._params_fn(x)  # [..., D] each
            return (y - shift) * jnp.exp(-log_scale), log_scale

        # The first pass outside the loop gives the carry its dtypes (params_fn may differ from y).
        # Static bounds: fori_loop lowers to scan, so reverse-mode gradients flow through it.
        carry = one_pass(jnp.zeros_like(y))
        x, log_scale = jax.lax.fori_loop(1, self._event_size, lambda _, c: one_pass(c[0]), carry)
        return x, -jnp.sum(log_scale, axis=-1)
