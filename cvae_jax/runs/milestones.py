"""-log p(x) of held-out images at milestone steps of a long run: where it is heading.

The validation bound a sweep computes every `training.eval_every` steps (the -ELBO, or the
-IWAE_k it trains) is cheap but looser than -log p(x) by the posterior's gap (4-5 nats for
a VAE on MNIST), so its curve cannot be set beside a published -log p(x). At a few milestone
steps (the likelihood study: the ends of Burda et al. 2016's learning-rate passes) a
`MilestoneEstimates` estimates -log p(x) of held-out images from every member's current
parameters, in one compiled call, and writes the point to a JSON file at once (atomically).
A resumed run keeps the points measured before it stopped; a milestone whose chunk is
trained again after a restart is not measured twice (the parameters are bitwise the same).
"""

import json
import os
import time

import jax
import numpy as np
from absl import logging

from cvae_jax.errors import WorkdirError
from cvae_jax.runs import results
from cvae_jax.training import sharding


class MilestoneEstimates:
    """A chunk callback: `estimate(params)` -> [S, H] per milestone, kept in `path`.

    Args:
      path: the JSON file of the points, {"points": [{"step": s, "nll": [[...]]}, ...]}; read
        when it exists (a resumed run), rewritten after every point.
      milestone_steps: the steps to measure at; each is measured at the end of the first chunk
        reaching it (chunks are `training.log_every` steps).
      estimate: params [S, H, ...] -> -log p(x) estimate per member [S, H].
    """

    def __init__(self, path: str, milestone_steps, estimate):
        self.path, self.estimate = path, estimate
        self.points = _read(path)
        measured = [p["step"] for p in self.points]
        self.pending = sorted(s for s in set(milestone_steps) if not any(m >= s for m in measured))

    def __call__(self, state, metrics=None) -> None:
        step = int(np.max(sharding.to_host(state.step)))
        if not self.pending or self.pending[0] > step:
            return
        start = time.perf_counter()
        params = state.params if jax.process_count() == 1 else sharding.to_host(state.params)
        nll = np.asarray(self.estimate(params))  # every process alike: members over hosts
        self.points = sorted(
            [p for p in self.points if p["step"] != step] + [{"step": step, "nll": nll.tolist()}],
            key=lambda p: p["step"],
        )
        self.pending = [s for s in self.pending if s > step]
        if jax.process_index() == 0:
            self._write()
        logging.info(
            "step %d: held-out -log p(x) %.2f (mean of %d members), measured in %.0fs",
            step, float(nll.mean()), nll.size, time.perf_counter() - start,
        )  # fmt: skip

    def _write(self) -> None:
        try:
            results.write_json(self.path, {"points": self.points})
        except OSError as e:  # the file before this point stays whole (an atomic write)
            raise WorkdirError(
                f"could not write {self.path} ({e.strerror or e}); its earlier points and the "
                "checkpoints are intact: free some space and rerun the same command to resume."
            ) from e


def measured(path: str) -> dict:
    """{step: [S, H] estimate} of the points in `path` ({} if none were measured)."""
    return {p["step"]: np.asarray(p["nll"]) for p in _read(path)}


def _read(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            return json.load(f)["points"]
    except (OSError, ValueError, KeyError) as e:
        raise WorkdirError(
            f"{path} is unreadable ({e}); move it away (its points are lost) and run again."
        ) from e
