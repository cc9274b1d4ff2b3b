#!/usr/bin/env python3
"""The PyTorch reference (../shared/bench/torch_reference.py) run unchanged, with the energy of
its FISTA codes recorded as well: the reference prints no energy, and the benchmark compares it.

    python3 experiments/torch_energy.py PATH/torch_reference.py --mnist DIR --model vdl --batches 220 --json

Prints the reference's JSON line with "energy" added: F(Z*) per row (SPEC section 2, with the
l1 term) over the last quarter of the batches, as `npm run bench` reports ours. Computing it costs
a decoder pass per batch inside the reference's timed region, so take speeds from a plain run.
"""
import contextlib, importlib.util, io, json, sys

import torch

path, args = sys.argv[1], sys.argv[2:]
spec = importlib.util.spec_from_file_location("torch_reference", path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

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
print(json.dumps(result))
