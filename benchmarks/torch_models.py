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


def _burda_modules(latent: int = 50, d: int = 784):
    """Burda et al. (2016)'s one-layer model: 784-200-200-50, tanh, unconditional."""
    from torch import nn

    encoder = nn.Sequential(nn.Linear(d, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(),
                            nn.Linear(200, 2 * latent))  # fmt: skip
    decoder = nn.Sequential(nn.Linear(latent, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(),
                            nn.Linear(200, d))  # fmt: skip
    return encoder, decoder


def burda_loop(batch: int, calls: int, threads: int, reps: int = 3) -> str:
    """Model-steps/s of Adam on the one-layer MNIST VAE's -ELBO (dynamic binarisation)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    x = torch.tensor(np.random.default_rng(0).random((2000, 784)).astype(np.float32))
    encoder, decoder = _burda_modules()
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def step():
        xb = torch.bernoulli(x[torch.randint(0, x.shape[0], (batch,))])
        mean, log_var = encoder(xb).chunk(2, -1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        distortion = bce(decoder(z), xb, reduction="none").sum(-1)
        rate = 0.5 * (log_var.exp() + mean**2 - 1 - log_var).sum(-1)
        loss = (distortion + rate).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    rate = timing.median_rate(step, calls, reps, warmup=10)
    row = {"model_steps_per_s": rate, "torch": torch.__version__,
           "threads": torch.get_num_threads()}  # fmt: skip
    return json.dumps(row)


def burda_importance_sampling(num_images: int, k: int, block: int, batch: int) -> str:
    """Seconds of -log p(x) by k importance samples per image, batched over samples."""
    import math
    import time

    import torch

    encoder, decoder = _burda_modules()
    x = torch.tensor((np.random.default_rng(0).random((num_images, 784)) > 0.5).astype(np.float32))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    start = time.perf_counter()
    with torch.no_grad():
        total = 0.0
        for xb in x.split(batch):
            mean, log_var = encoder(xb).chunk(2, -1)
            std = torch.exp(0.5 * log_var)
            log_w = []
            for _ in range(0, k, block):
                eps = torch.randn(block, *mean.shape)
                z = mean + std * eps
                log_lik = -bce(decoder(z), xb.expand(block, -1, -1), reduction="none").sum(-1)
                log_p = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
                log_q = (-0.5 * eps**2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
                log_w.append(log_lik + log_p - log_q)
            log_w = torch.cat(log_w)[:k]
            total += float((torch.logsumexp(log_w, 0) - math.log(k)).sum())
    return json.dumps({"seconds": time.perf_counter() - start, "torch": torch.__version__})
