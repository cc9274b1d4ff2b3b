"""Load a sparse-vdl model exported in PyTorch's layout into plain torch modules.

    npx tsx experiments/export-torch.ts --run runs/vdl --out vdl-torch.safetensors
    python3 experiments/torch_load.py vdl-torch.safetensors [ROWS.safetensors]

The export is a safetensors file: each nn.Linear weight stored out x in (sparse-vdl computes
x @ W with W stored in x out, so the exporter transposed them), and metadata giving the sizes and
the input normalisation. It is parsed here with numpy alone, so the `safetensors` package is not
needed (Debian's python3-torch does not bring it).

Given ROWS.safetensors, a file with one float32 tensor "pixels" (rows x pixels, values in 0..1),
the script prints JSON: the encoder's codes and the reconstructions D(E(x)) in pixels, which
match sparse-vdl's encode(x) and reconstruct(x, { codes: "encoder" }). Inferred codes (FISTA on
the energy) are sparse-vdl's own; this module runs the two networks.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

from torch_lista import Lista


def read_safetensors(path):
    """The tensors (float32 only) and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + length :]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        values = np.frombuffer(body[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors, metadata


def decoder(code_dim, hidden, input_dim):
    """Linear layers with ReLU between them; the last one has no bias."""
    widths = [code_dim, *hidden, input_dim]
    layers = []
    for k in range(len(widths) - 1):
        last = k == len(widths) - 2
        layers.append(nn.Linear(widths[k], widths[k + 1], bias=not last))
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SparseCoding(nn.Module):
    def __init__(self, metadata):
        super().__init__()
        input_dim = int(metadata["inputDim"])
        code_dim = int(metadata["codeDim"])
        self.encoder = Lista(input_dim, code_dim, int(metadata["listaSteps"]))
        self.decoder = decoder(code_dim, json.loads(metadata["hidden"]), input_dim)
        self.normalization = json.loads(metadata["input"])["normalization"]

    def normalize(self, pixels):
        """Pixels (rows x inputs, 0..1) into the model's input space, computed in float64 as sparse-vdl does."""
        n = self.normalization
        p = pixels.double()
        if n["kind"] == "none":
            return pixels.float()
        if n["kind"] == "global":
            return ((p - n["mean"]) / n["std"]).float()
        if n["kind"] == "per-feature":
            mean = torch.tensor(n["mean"], dtype=torch.float64)
            std = torch.tensor(n["std"], dtype=torch.float64)
            return ((p - mean) / std).float()
        raise ValueError("LCN patch models normalise each 52x52 crop with its local mean and scale; "
                         "normalise the patches as sparse-vdl's src/models/lcn.ts does and call the encoder and decoder directly")

    def to_pixels(self, x):
        n = self.normalization
        if n["kind"] == "none":
            return x
        if n["kind"] == "global":
            return x * n["std"] + n["mean"]
        if n["kind"] == "per-feature":
            return x * torch.tensor(n["std"], dtype=torch.float32) + torch.tensor(n["mean"], dtype=torch.float32)
        raise ValueError("LCN patch models need each patch's local mean and scale to map back to pixels")

    def forward(self, pixels):
        """Codes E(x) and reconstructions D(E(x)) in pixels."""
        codes = self.encoder(self.normalize(pixels))
        return codes, self.to_pixels(self.decoder(codes))


def load(path):
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != "sparse-vdl-torch/1":
        raise ValueError(f"{path} is not a sparse-vdl export (format {metadata.get('format')}); write one with experiments/export-torch.ts")
    model = SparseCoding(metadata)
    model.load_state_dict(tensors)
    return model.eval()


if __name__ == "__main__":
    model = load(sys.argv[1])
    if len(sys.argv) < 3:
        print(model)
        sys.exit(0)
    rows, _ = read_safetensors(sys.argv[2])
    with torch.no_grad():
        codes, reconstructions = model(rows["pixels"])
    json.dump({"codes": codes.tolist(), "reconstructions": reconstructions.tolist()}, sys.stdout)
