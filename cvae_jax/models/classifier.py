"""Deterministic networks beside the cVAE: the classifier that judges generated images, and
the structured-output baseline c -> x of Sohn et al. (2015). Training them is in
`training/supervised.py`."""

from collections.abc import Sequence

import flax.linen as nn

from cvae_jax.models.mlp import MLP


class Classifier(nn.Module):
    num_classes: int
    hidden: Sequence[int] = (256,)

    @nn.compact
    def __call__(self, x):  # [..., D] -> logits [..., K]
        return nn.Dense(self.num_classes)(MLP(self.hidden)(x))


class Baseline(nn.Module):
    """A deterministic network c -> logits of x (Sohn et al.'s baseline, an MLP here)."""

    output_dim: int
    hidden: Sequence[int] = (256,)

    @nn.compact
    def __call__(self, c):
        return nn.Dense(self.output_dim)(MLP(self.hidden)(c))
