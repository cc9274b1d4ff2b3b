/**
 * Write a trained model in PyTorch's layout (each nn.Linear weight out × in, the transpose of
 * ours) as a safetensors file that experiments/torch_load.py loads into plain torch modules.
 *   npx tsx experiments/export-torch.ts --run runs/vdl --out vdl-torch.safetensors
 *   python3 experiments/torch_load.py vdl-torch.safetensors
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"

export const exportTorchCommand = Command.make(
  "export-torch",
  {
    run: Options.text("run").pipe(
      Options.withDescription("a run folder (its checkpoint.safetensors, the best epoch) or a checkpoint file")
    ),
    out: Options.text("out").pipe(Options.withDescription("the safetensors file to write"))
  },
  (o) =>
    // The model and TensorFlow.js load when the command runs, not for --help.
    Effect.promise(() => import("../../pipeline/use/torch-export.js")).pipe(
      Effect.flatMap(({ exportTorch }) => exportTorch(o.run, o.out)),
      Effect.zipRight(Effect.logInfo(`wrote ${o.out}; load it with: python3 experiments/torch_load.py ${o.out}`))
    )
)
