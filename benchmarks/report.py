"""Roofline numbers, the printed table, the plot, and the optional PyTorch reference row."""

import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks import machine, timing  # noqa: E402
from cvae_jax.data.synthetic import two_gaussians  # noqa: E402


def planned_mb(chunk) -> float:
    """XLA's planned bytes (arguments + outputs + temporaries) of the largest compiled call."""
    return chunk.planned_bytes() / 2**20


def executable_mb(executable) -> float:
    m = executable.memory_analysis()
    return (m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes) / 2**20


def add_roofline(results: dict) -> None:
    """GFLOP/s and GB/s achieved per row, as fractions of the measured peak and bandwidth."""
    m, step = results["machine"], results["step"]
    flops, nbytes = step["analytic"]["train_step"], step["xla"]["bytes"]
    results["floors"] = {
        "compute_model_steps_per_s": m["matmul_gflops"] * 1e9 / flops,
        "dram_model_steps_per_s": m["dram_gbps"] * 1e9 / nbytes,
        "cache_model_steps_per_s": m["cache_gbps"] * 1e9 / nbytes,
    }
    for row in results["rows"] + results["references"]:
        rate = row["model_steps_per_s"]
        row["us_per_model_step"] = 1e6 / rate
        row["gflops"] = rate * flops / 1e9
        row["frac_peak"] = row["gflops"] / m["matmul_gflops"]
        row["gbps"] = rate * nbytes / 1e9
        row["frac_dram_bw"] = row["gbps"] / m["dram_gbps"]


def table(results: dict) -> str:
    m, step, floors = results["machine"], results["step"], results["floors"]
    lines = [
        f"machine: {m['device']} x{m['num_devices']} | matmul peak {m['matmul_gflops']:.0f} "
        f"GFLOP/s | stream {m['dram_gbps']:.1f} GB/s (DRAM), {m['cache_gbps']:.0f} GB/s "
        f"({m['cache_mib']:g} MiB, in cache)",
        f"model-step: {step['analytic']['train_step'] / 1e6:.3f} MFLOP analytic (matmuls), "
        f"{step['xla']['flops'] / 1e6:.3f} MFLOP by XLA cost_analysis, "
        f"{step['xla']['bytes'] / 1e6:.2f} MB accessed by XLA's count",
        f"floors: compute {floors['compute_model_steps_per_s']:,.0f} | DRAM bandwidth "
        f"{floors['dram_model_steps_per_s']:,.0f} | cache bandwidth "
        f"{floors['cache_model_steps_per_s']:,.0f} model-steps/s",
        f"peak memory column: {results.get('peak_mb_source', '')} (cumulative);"
        " planned = XLA memory_analysis of the call",
        "",
        f"{'K':>5} {'row':<11} {'model-steps/s':>13} {'us/step':>8} {'compile s':>9} "
        f"{'GFLOP/s':>8} {'%peak':>6} {'GB/s':>6} {'%DRAM':>6} {'planned MB':>10} {'peak MB':>8}",
    ]
    rows = results["rows"] + results["references"]
    for r in rows:
        planned = r.get("xla_planned_mb", math.nan)
        lines.append(
            f"{r['K']:>5} {r['row']:<11} {r['model_steps_per_s']:>13,.0f} "
            f"{r['us_per_model_step']:>8.1f} {r.get('compile_s', math.nan):>9.2f} "
            f"{r['gflops']:>8.2f} {100 * r['frac_peak']:>5.1f}% {r['gbps']:>6.1f} "
            f"{100 * r['frac_dram_bw']:>5.0f}% {planned:>10.1f} {r.get('peak_mb', math.nan):>8.0f}"
        )
    return "\n".join(lines)


def plot(results: dict, path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in dict.fromkeys(r["row"] for r in results["rows"]):
        rows = [r for r in results["rows"] if r["row"] == name]
        ax.plot([r["K"] for r in rows], [r["model_steps_per_s"] for r in rows], "o-", label=name)
    floors = results["floors"]
    for key, style in [("cache_model_steps_per_s", ":"), ("dram_model_steps_per_s", "--")]:
        ax.axhline(
            floors[key], color="gray", ls=style, label=key.split("_")[0] + " bandwidth floor"
        )
    for i, ref in enumerate(results["references"]):
        ax.axhline(ref["model_steps_per_s"], color=f"C{i + 3}", ls="-.", label=ref["row"] + " loop")
    ax.set(xscale="log", yscale="log", xlabel="sweep members K", ylabel="model-steps / s")
    ax.set_title(f"toy cVAE sweep throughput ({results['machine']['device']})", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def torch_row(calls: int, threads: int = 0):
    """An idiomatic single-model PyTorch loop on the same toy, in a fresh process (so that
    XLA's worker threads do not compete with torch's); None if torch is not installed."""
    code = f"from benchmarks import report; print(report._torch_loop({calls}, {threads}))"
    return machine.torch_json(code)


def _torch_loop(calls: int, threads: int, reps: int = 3) -> str:
    import torch

    if threads:
        torch.set_num_threads(threads)
    data = two_gaussians(0, 2000)
    x, c = torch.tensor(data.x), torch.nn.functional.one_hot(torch.tensor(data.y).long(), 2).float()
    enc = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    dec = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3)

    def step(beta=1.0):
        idx = torch.randint(0, x.shape[0], (256,))
        xb, cb = x[idx], c[idx]
        mean, log_var = enc(torch.cat([xb, cb], -1)).chunk(2, -1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        distortion = 0.5 * ((xb - dec(torch.cat([z, cb], -1))) ** 2).sum(-1)
        rate = 0.5 * (log_var.exp() + mean**2 - 1 - log_var).sum(-1)
        loss = (distortion + beta * rate).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    rate = timing.median_rate(step, calls, reps, warmup=50)
    row = {"model_steps_per_s": rate, "torch": torch.__version__,
           "threads": torch.get_num_threads()}  # fmt: skip
    return json.dumps(row)
