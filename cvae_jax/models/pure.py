"""A bound Flax submodule as a pure function of its inputs, closed over its parameters.

The flow bijectors and the hierarchy's layer-by-layer distributions hold their networks this
way: distrax objects built inside `apply` can then be used after it returns (the estimators
and diagnostics evaluate `log_prob` outside the module), and vmapped or differentiated.
"""

from collections.abc import Callable

import flax.linen as nn


def pure(module: nn.Module, *example_args) -> Callable:
    """`module` (bound, created inside a compact method) as `f(*args) -> module(*args)`.

    While initialising, it is called once on `example_args` so its parameters exist.
    """
    if module.is_initializing():
        module(*example_args)
    unbound, variables = module.unbind()
    return lambda *args: unbound.apply(variables, *args)
