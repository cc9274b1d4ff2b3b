/**
 * Write a trained model in PyTorch's layout, for experiments/torch_load.py; the command `sparse-vdl export-torch`.
 *   npx tsx experiments/export-torch.ts --run runs/vdl --out vdl-torch.safetensors
 */
import { runRegistered } from "../src/cli/entry.js"

await runRegistered("export-torch")
