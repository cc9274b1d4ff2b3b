#!/usr/bin/env python3
"""sparse-vdl's own PyTorch implementation of its training loop: the reference `sparse-vdl bench
--vs-torch` compares its speed and results with (docs/benchmarks.md).

It is written from the mathematics (docs/method.md) in plain PyTorch, sharing no code with the
TypeScript implementation: a LISTA encoder, a linear or one-hidden-layer decoder, FISTA on the
energy with per-row freezing, warm-started from the encoder, then one Adam step for the decoder
and one for the encoder per batch, at the paper's MNIST settings. Inference takes its gradients
from autograd on the whole batch at every step, frozen rows masked (ours drops them from the
decoder's work): the straightforward PyTorch form, and the cost profile of the independent
implementation the published comparisons were first made against.

    python3 experiments/torch_reference.py --mnist DIR --model vdl --batches 220 --threads 1 --json

DIR holds the MNIST IDX files (gzipped or raw) and, ideally, the authors' validation split
validation-indices.txt (one 0-based training index per line); without it a seeded permutation holds
out 5,000 of every 60,000 training images. Prints a summary on stdout; with --json the last line is
a JSON object: samples_per_second (training steps only: encoder, FISTA and both updates, not batch
assembly or figures), psnr_fista, zero_fraction and mean_fista_steps (over the last quarter of the
batches), val_psnr_encoder and val_zero_fraction_encoder (the encoder's codes on the validation
set).

Needs PyTorch (Debian: apt-get install -y python3-torch libopenblas0-pthread). Its module-level
Lista, make_decoder, fista, smooth_energy and main are what experiments/torch_energy.py wraps to
start it from sparse-vdl's initial weights and data order; main looks them up at call time.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
from torch import nn

# A module-level name, which experiments/torch_energy.py replaces; shared with experiments/torch_load.py.
from torch_lista import Lista

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# The paper's MNIST settings (src/models/variants.ts). Common to all: batch 250, LISTA T = 3,
# code size 128, FISTA at most 200 steps with tolerance 1e-3, tau 0.5, no encoder-bias decay.
COMMON = dict(batch_size=250, lista_steps=3, code_dim=128, max_steps=200, tol=1e-3, tau=0.5,
              hidden_bias_decay=0.0, decoder_weight_decay=0.0, encoder_bias_decay=0.0,
              lr_halving_every=0, unit_norm=False)
WEIGHT_DECAY = 1e-3  # the WDL baselines' coupled decay on the decoder weights
SETTINGS = {
    "sdl": dict(COMMON, hidden=[], lam=0.005, beta=0.0, gamma=1.0, eta=1.0, decoder_lr=1e-3,
                encoder_lr=3e-4, unit_norm=True),
    "sdl-nl": dict(COMMON, hidden=[1024], lam=0.01, beta=0.0, gamma=1.0, eta=1.0, decoder_lr=1e-3,
                   encoder_lr=1e-4, unit_norm=True, hidden_bias_decay=1e-3),
    "vdl": dict(COMMON, hidden=[], lam=0.02, beta=10.0, gamma=5.0, eta=0.5, decoder_lr=3e-4,
                encoder_lr=1e-4),
    "vdl-nl": dict(COMMON, hidden=[1024], lam=0.01, beta=10.0, gamma=100.0, eta=0.5,
                   decoder_lr=3e-4, encoder_lr=1e-4, hidden_bias_decay=1e-3, lr_halving_every=30),
}
# Weight-decay baselines: SDL's settings with decay on the decoder weights instead of unit norm;
# the ablation: VDL without the hinge.
SETTINGS["wdl"] = dict(SETTINGS["sdl"], unit_norm=False, decoder_weight_decay=WEIGHT_DECAY)
SETTINGS["wdl-nl"] = dict(SETTINGS["sdl-nl"], unit_norm=False, decoder_weight_decay=WEIGHT_DECAY)
SETTINGS["noreg"] = dict(SETTINGS["vdl"], beta=0.0)


# ---------------------------------------------------------------------------------------------
# Model

def make_decoder(d, l, hidden):
    """The linear dictionary (hidden empty or 0) or Linear, ReLU, ..., Linear without output bias."""
    widths = [hidden] if isinstance(hidden, int) else list(hidden)
    widths = [w for w in widths if w > 0]
    layers, fan_in = [], l
    for m in widths:
        layer = nn.Linear(fan_in, m)
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.ReLU()]
        fan_in = m
    layers.append(nn.Linear(fan_in, d, bias=False))
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def decoder_weights(dec):
    return [m.weight for m in dec.modules() if isinstance(m, nn.Linear)]


@torch.no_grad()
def normalize_atoms(dec):
    """Every decoder weight's columns (one per input unit: the atoms) rescaled to unit norm."""
    for w in decoder_weights(dec):
        norms = w.norm(dim=0, keepdim=True)
        w.div_(torch.where(norms > 0, norms, torch.ones_like(norms)))


# ---------------------------------------------------------------------------------------------
# Energy and inference

def reconstruction_term(z, dec, x):
    """Sum over rows of the mean squared error over pixels (no 1/2)."""
    return (x - dec(z)).pow(2).sum() / x.shape[1]


def variance_term(z, p):
    """beta * sum_j max(0, tau - std_j)^2, std over the batch with N - 1; its gradient is 0 where
    std_j = 0, as the norm's (a dead component is not pushed anywhere)."""
    if p["beta"] == 0:
        return z.new_zeros(())
    n = z.shape[0]
    std = (z - z.mean(dim=0)).norm(dim=0) / math.sqrt(max(n - 1, 1))
    return p["beta"] * torch.relu(p["tau"] - std).pow(2).sum()


def encoder_term(z, z_enc, p):
    """(gamma / l) * sum over rows of ||z - E(x)||^2, E(x) a constant."""
    if p["gamma"] == 0:
        return z.new_zeros(())
    return p["gamma"] / z.shape[1] * (z - z_enc).pow(2).sum()


def smooth_energy(z, dec, x, p, z_enc):
    """The smooth part f of the batch's energy F = f + lam * ||Z||_1, summed over its rows."""
    return reconstruction_term(z, dec, x) + variance_term(z, p) + encoder_term(z, z_enc, p)


def fista(dec, x, z_enc, p, max_steps=None, tol=None):
    """FISTA on F over Z >= 0, warm-started at the encoder's codes, with the decoder fixed.

    Each step takes the gradient of smooth_energy by autograd, on the whole batch, then the
    non-negative soft threshold and the batch's momentum. A row stops when its relative change
    ||z_new - z|| / ||z|| falls below tol (or when it steps from z itself and does not move: a row
    held at 0); from then on it is masked: it keeps its value, and the variance term, which couples
    the rows, still sees it. Returns the codes and the number of steps each row took.
    """
    max_steps = p["max_steps"] if max_steps is None else max_steps
    tol = p["tol"] if tol is None else tol
    eta, threshold = p["eta"], p["eta"] * p["lam"]
    n = x.shape[0]
    z_enc = z_enc.detach()
    z = z_enc.clone()
    y = z.clone()
    steps = torch.zeros(n, dtype=torch.long)
    live = torch.ones(n, dtype=torch.bool)
    t = 1.0
    for _ in range(max_steps):
        if not bool(live.any()):
            break
        y = y.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(smooth_energy(y, dec, x, p, z_enc), y)
        with torch.no_grad():
            y = y.detach()
            new = torch.clamp_min(y - eta * grad - threshold, 0)
            diff = new - z
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y_next = new + ((t - 1) / t_next) * diff
            t = t_next
            change = diff.pow(2).sum(dim=1)
            scale = z.pow(2).sum(dim=1)
            from_z = (y - z).pow(2).sum(dim=1) == 0
            done = live & (((change == 0) & from_z) | ((change > 0) & (change < tol * tol * scale)))
            steps += live.long()
            z = torch.where(live.unsqueeze(1), new, z)
            live = live & ~done
            y = torch.where(live.unsqueeze(1), y_next, z)
    return z, steps


# ---------------------------------------------------------------------------------------------
# Data

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4:4 + 4 * (magic & 0xFF)])
    data = torch.frombuffer(bytearray(raw[4 + 4 * len(dims):]), dtype=torch.uint8)
    return data.reshape(dims)


def find_idx(folder, base):
    dotted = base.replace("-idx", ".idx")
    for name in (base + ".gz", base, dotted + ".gz", dotted):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise SystemExit(f"{folder}: no {base}(.gz)")


def load_mnist(folder, seed):
    """Normalised training and validation rows: the authors' split when the folder has it."""
    images = read_idx(find_idx(folder, "train-images-idx3-ubyte"))
    x = ((images.reshape(images.shape[0], -1).float() / 255) - MNIST_MEAN) / MNIST_STD
    n = x.shape[0]
    split_file = os.path.join(folder, "validation-indices.txt")
    if os.path.exists(split_file):
        with open(split_file) as f:
            val = [int(s) for s in (line.strip() for line in f) if s and not s.startswith("#")]
        val = torch.tensor(val, dtype=torch.long)
    else:
        g = torch.Generator().manual_seed(seed)
        val = torch.rand(n, generator=g).argsort()[:round(n * 5000 / 60000)]
    held_out = torch.zeros(n, dtype=torch.bool)
    held_out[val] = True
    return x[~held_out].contiguous(), x[val].contiguous()


def psnr_sum(x, recon):
    """Sum over images of 10 log10(1 / MSE) in pixel space (an MSE of 0 counts as 1e-4)."""
    mse = ((x - recon) * MNIST_STD).pow(2).mean(dim=1)
    mse = torch.where(mse > 0, mse, torch.full_like(mse, 1e-4))
    return (10 * torch.log10(1 / mse)).sum().item()


# ---------------------------------------------------------------------------------------------
# Training

def adam(groups, lr):
    """Adam with PyTorch's defaults; weight_decay per group is coupled (added to the gradient)."""
    return torch.optim.Adam([g for g in groups if g["params"]], lr=lr, betas=(0.9, 0.999), eps=1e-8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mnist", required=True, help="folder of MNIST IDX files (.gz or raw)")
    ap.add_argument("--model", default="vdl", choices=sorted(SETTINGS))
    ap.add_argument("--batches", type=int, default=40, help="training batches (220 = one epoch)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--batch-size", type=int, default=None, help="default the preset's, 250")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the results as a JSON line last")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    p = dict(SETTINGS[a.model])
    if a.batch_size is not None:
        p["batch_size"] = a.batch_size
    train, val = load_mnist(a.mnist, a.seed)
    d, l, bs = train.shape[1], p["code_dim"], p["batch_size"]
    per_epoch = train.shape[0] // bs
    if per_epoch == 0:
        raise SystemExit(f"{train.shape[0]} training rows make no batch of {bs}")

    enc = Lista(d, l, p["lista_steps"])
    dec = make_decoder(d, l, p["hidden"])
    if p["unit_norm"]:
        normalize_atoms(dec)
    dec_weights = decoder_weights(dec)
    dec_biases = [m.bias for m in dec.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    dec_opt = adam([
        dict(params=dec_weights, weight_decay=p["decoder_weight_decay"]),
        dict(params=dec_biases, weight_decay=p["hidden_bias_decay"]),
    ], p["decoder_lr"])
    enc_opt = adam([
        dict(params=[enc.W.weight, enc.S.weight], weight_decay=0.0),
        dict(params=[enc.W.bias], weight_decay=p["encoder_bias_decay"]),
    ], p["encoder_lr"])

    step_seconds = 0.0
    tail_from = a.batches - max(1, a.batches // 4)
    tail = dict(rows=0, psnr=0.0, zeros=0, entries=0, steps=0)
    done = epoch = 0
    while done < a.batches:
        order = torch.randperm(train.shape[0])
        if p["lr_halving_every"] > 0:
            for g in dec_opt.param_groups:
                g["lr"] = p["decoder_lr"] * 0.5 ** (epoch // p["lr_halving_every"])
        for b in range(per_epoch):
            if done == a.batches:
                break
            x = train[order[b * bs:(b + 1) * bs]]
            started = time.perf_counter()
            z_enc = enc(x)
            z_star, steps = fista(dec, x, z_enc.detach(), p)
            recon = dec(z_star)
            dec_opt.zero_grad(set_to_none=True)
            (x - recon).pow(2).mean().backward()
            dec_opt.step()
            if p["unit_norm"]:
                normalize_atoms(dec)
            enc_opt.zero_grad(set_to_none=True)
            (z_enc - z_star).pow(2).mean().backward()
            enc_opt.step()
            step_seconds += time.perf_counter() - started
            if done >= tail_from:
                with torch.no_grad():
                    tail["rows"] += x.shape[0]
                    tail["psnr"] += psnr_sum(x, recon.detach())
                    tail["zeros"] += int((z_star == 0).sum())
                    tail["entries"] += z_star.numel()
                    tail["steps"] += int(steps.sum())
            done += 1
        epoch += 1

    with torch.no_grad():
        val_psnr, val_zeros = 0.0, 0
        for start in range(0, val.shape[0], bs):
            xv = val[start:start + bs]
            zv = enc(xv)
            val_psnr += psnr_sum(xv, dec(zv))
            val_zeros += int((zv == 0).sum())

    result = {
        "model": a.model,
        "batches": a.batches,
        "batch_size": bs,
        "threads": a.threads,
        "seconds_steps": round(step_seconds, 3),
        "samples_per_second": round(a.batches * bs / step_seconds, 1),
        "psnr_fista": round(tail["psnr"] / tail["rows"], 3),
        "zero_fraction": round(tail["zeros"] / tail["entries"], 4),
        "mean_fista_steps": round(tail["steps"] / tail["rows"], 2),
        "val_psnr_encoder": round(val_psnr / val.shape[0], 3),
        "val_zero_fraction_encoder": round(val_zeros / (val.shape[0] * l), 4),
    }
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
