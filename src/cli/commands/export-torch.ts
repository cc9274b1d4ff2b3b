/**
 * Write a trained model in PyTorch's layout (each nn.Linear weight out × in, the transpose of
 * ours) as a safetensors file that experiments/torch_load.py loads into plain torch modules.
 *   npx tsx experiments/export-torch.ts --run runs/vdl --out vdl-torch.safetensors
 *   python3 experiments/torch_load.py vdl-torch.safetensors
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { exportTorch } from "../../pipeline/use/torch-export.js"

export const exportTorchCommand = Command.make(
  "export-torch",
  {
    run: Options.text("run").pipe(Options.withDescription("a run folder (its checkpoint.safetensors, the best epoch) or a checkpoint file")),
    out: Options.text("out").pipe(Options.withDescription("the safetensors file to write"))
  },
  (o) => exportTorch(o.run, o.out).pipe(Effect.zipRight(Effect.logInfo(`wrote ${o.out}; load it with: python3 experiments/torch_load.py ${o.out}`)))
)
