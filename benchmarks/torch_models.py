"""The image cVAEs of `image_throughput.py` as idiomatic PyTorch loops (torch is optional)."""

import json

import numpy as np

from benchmarks import timing


def _modules(kind: str, side: int = 28, latent: int = 8, classes: int = 10):
    import torch
    from torch import nn

    if kind == "mlp":
        d = side * side
        encoder = nn.Sequential(nn.Linear(d + classes, 512), nn.ReLU(), nn.Linear(512, 512),
                                nn.ReLU(), nn.Linear(512, 2 * latent))  # fmt: skip
        decoder = nn.Sequential(nn.Linear(latent + classes, 512), nn.ReLU(), nn.Linear(512, 512),
                                nn.ReLU(), nn.Linear(512, d))  # fmt: skip
        return lambda x, c: encoder(torch.cat([x, c], -1)), decoder, [encoder, decoder]
    q = side // 4
    convs = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1),
                          nn.ReLU(), nn.Flatten())  # fmt: skip
    head = nn.Sequential(
        nn.Linear(q * q * 32 + classes, 128), nn.ReLU(), nn.Linear(128, 2 * latent)
    )
    dense = nn.Sequential(nn.Linear(latent + classes, 128), nn.ReLU(), nn.Linear(128, q * q * 32),
                          nn.ReLU(), nn.Unflatten(1, (32, q, q)))  # fmt: skip
    ups = nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.ReLU(),
                        nn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1), nn.Flatten())  # fmt: skip

    def encode(x, c):
        return head(torch.cat([convs(x.view(-1, 1, side, side)), c], -1))

    return encode, lambda zc: ups(dense(zc)), [convs, head, dense, ups]


def loop(kind: str, batch: int, calls: int, threads: int, reps: int = 3) -> str:
    """Model-steps/s of Adam on the Bernoulli cVAE loss, one model, as JSON."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = torch.tensor((rng.random((2000, 784)) > 0.7).astype(np.float32))
    c = torch.nn.functional.one_hot(torch.tensor(rng.integers(0, 10, 2000)), 10).float()
    encode, decode, modules = _modules(kind)
    opt = torch.optim.Adam([p for m in modules for p in m.parameters()], lr=2e-3)

    def step(beta=1.0):
        idx = torch.randint(0, x.shape[0], (batch,))
        xb, cb = x[idx], c[idx]
        mean, log_var = encode(xb, cb).chunk(2, -1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        logits = decode(torch.cat([z, cb], -1))
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        distortion = bce(logits, xb, reduction="none").sum(-1)
        rate = 0.5 * (log_var.exp() + mean**2 - 1 - log_var).sum(-1)
        loss = (distortion + beta * rate).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    rate = timing.median_rate(step, calls, reps, warmup=10)
    row = {"model_steps_per_s": rate, "torch": torch.__version__,
           "threads": torch.get_num_threads()}  # fmt: skip
    return json.dumps(row)
