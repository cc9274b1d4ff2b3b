/**
 * Write a trained model in PyTorch's layout, for experiments/torch_load.py; the command `sparse-vdl export-torch`.
 *   npx tsx experiments/export-torch.ts --run runs/vdl --out vdl-torch.safetensors
 */
import { commandCli, runCli } from "../src/cli/entry.js"
import { exportTorchCommand } from "../src/cli/export-torch.js"

runCli(commandCli(exportTorchCommand, "export-torch"))
