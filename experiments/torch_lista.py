"""The LISTA encoder in plain PyTorch, shared by experiments/torch_reference.py (which trains it)
and experiments/torch_load.py (which loads an exported one): non-negative codes,
z0 = ReLU(W x + c), then `steps` times z = ReLU(W x + c + S z)."""
import torch
from torch import nn


class Lista(nn.Module):
    """Non-negative LISTA: b = W x + c, z = ReLU(b), then `steps` times z = ReLU(b + S z). The bias c starts at 0."""

    def __init__(self, input_dim, code_dim, steps=3):
        super().__init__()
        self.steps = steps
        self.W = nn.Linear(input_dim, code_dim)
        self.S = nn.Linear(code_dim, code_dim, bias=False)
        nn.init.zeros_(self.W.bias)

    def forward(self, x):
        b = self.W(x)
        z = torch.relu(b)
        for _ in range(self.steps):
            z = torch.relu(b + self.S(z))
        return z
