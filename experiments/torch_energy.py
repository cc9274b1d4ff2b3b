#!/usr/bin/env python3
"""An independent PyTorch implementation of the training loop (the benchmark's --torch-script)
run unchanged, with the energy of its FISTA codes recorded as well: the reference prints no
energy, and the benchmark compares it.

    python3 experiments/torch_energy.py PATH/torch_reference.py [--start DIR] --mnist DIR --model vdl --batches 220 --json

Prints the reference's JSON line with "energy" added: F(Z*) per row, the l1 term included
(docs/method.md, The energy), over the last quarter of the batches, as `npm run bench` reports
ours. Computing it costs a decoder pass per batch inside the reference's timed region, so take
speeds from a plain run.

--start DIR makes the reference start where ours starts, so that the two runs differ only in how
they compute, not in their random draws: DIR/start.safetensors holds our initial weights (input-
major, as our checkpoints store them) and DIR/order.i32 our shuffles of the training rows, one
permutation per epoch (int32, positions in the training split, which both keep in index order).
The reference's own code is untouched: its constructors and torch.randperm are wrapped.
"""
import contextlib, importlib.util, io, json, os, struct, sys

import torch

path, args = sys.argv[1], sys.argv[2:]
start = None
if "--start" in args:
    at = args.index("--start")
    start = args[at + 1]
    args = args[:at] + args[at + 2:]

spec = importlib.util.spec_from_file_location("torch_reference", path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def read_safetensors(file):
    with open(file, "rb") as f:
        raw = f.read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    data = raw[8 + size:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(entry["shape"])
    return out


if start is not None:
    mnist = args[args.index("--mnist") + 1] if "--mnist" in args else ""
    if not os.path.exists(os.path.join(mnist, "validation-indices.txt")):
        # Without it the reference draws its own validation set, so our shuffles would index
        # another training set.
        raise SystemExit(f"--start needs the authors' split, {os.path.join(mnist, 'validation-indices.txt')}, which both sides then use")
    weights = read_safetensors(os.path.join(start, "start.safetensors"))
    with open(os.path.join(start, "order.i32"), "rb") as f:
        order = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
    original_lista, original_decoder = ref.Lista, ref.make_decoder

    def lista_from_start(d, l, steps=3):
        enc = original_lista(d, l, steps)
        with torch.no_grad():
            enc.W.weight.copy_(weights["encoder.W"].t())
            enc.W.bias.copy_(weights["encoder.c"])
            enc.S.weight.copy_(weights["encoder.S"].t())
        return enc

    def decoder_from_start(d, l, hidden):
        dec = original_decoder(d, l, hidden)
        linears = [m for m in dec.modules() if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for k, layer in enumerate(linears):
                layer.weight.copy_(weights[f"decoder.W{k + 1}"].t())
                if layer.bias is not None:
                    layer.bias.copy_(weights[f"decoder.b{k + 1}"])
        return dec

    epochs_taken = [0]

    def randperm_from_start(n, *rest, **kw):
        k = epochs_taken[0]
        if n * (k + 1) > order.numel():
            raise SystemExit(f"--start: {os.path.join(start, 'order.i32')} holds {order.numel() // n} permutations of {n} rows; the run asks for more")
        epochs_taken[0] += 1
        return order[k * n:(k + 1) * n].clone()

    ref.Lista, ref.make_decoder = lista_from_start, decoder_from_start
    torch.randperm = randperm_from_start

energies = []
original_fista = ref.fista


def fista_recording_energy(dec, x, z_enc, p, *rest, **kw):
    z, steps = original_fista(dec, x, z_enc, p, *rest, **kw)
    with torch.no_grad():
        total = ref.smooth_energy(z, dec, x, p, z_enc) + p["lam"] * z.abs().sum()
    energies.append(total.item() / x.shape[0])
    return z, steps


ref.fista = fista_recording_energy
sys.argv = [path, *args]
captured = io.StringIO()
with contextlib.redirect_stdout(captured):
    ref.main()
result = json.loads(captured.getvalue().strip().splitlines()[-1])
last = max(1, len(energies) // 4)
result["energy"] = round(sum(energies[-last:]) / last, 5)
if start is not None:
    result["start"] = "ours"
print(json.dumps(result))
