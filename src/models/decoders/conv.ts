import * as tf from "@tensorflow/tfjs-core"
import { uniformArray } from "../rng.js"
import { activations } from "./activations.js"
import { convDeclaration } from "./conv.declaration.js"
import { type DecoderGeometry, type DecoderSettings, decoderKind, type ParameterSpec } from "./decoder.js"

/**
 * A convolutional decoder: the code is a small map of c₀ channels on an h₀ × w₀ grid, and
 * transposed convolutions (kernel 4, stride 2) double its size at each layer up to the image,
 * with the activation and a bias between them. The hidden widths are the channels of the
 * intermediate maps, so hidden [32] is two layers and a code map a quarter of the image's side
 * (7 × 7 on MNIST, where l = 196 gives c₀ = 4). Each code entry is an atom placed at one
 * position. Everything but its parameters and forward map comes from autodiff.
 */
const KERNEL = 4
const STRIDE = 2

/** The code map's shape, or why the image and code size give none. */
const codeMap = (
  s: DecoderSettings,
  g: DecoderGeometry
): { readonly h: number; readonly w: number; readonly c: number } | string => {
  const scale = STRIDE ** (s.hidden.length + 1)
  if (g.height % scale !== 0 || g.width % scale !== 0) {
    return `the conv decoder with ${s.hidden.length + 1} layers doubles its map ${s.hidden.length + 1} times, so the image's sides must be multiples of ${scale}, and ${g.height}×${g.width} are not; give fewer hidden widths`
  }
  const h = g.height / scale
  const w = g.width / scale
  if (s.codeDim % (h * w) !== 0) {
    const c = Math.max(1, Math.round(s.codeDim / (h * w)))
    return `the conv decoder's code map is ${h}×${w} positions, so the code size must be a multiple of ${h * w}, and ${s.codeDim} is not; use a code size of ${c * h * w} (${c} channel${c === 1 ? "" : "s"})`
  }
  return { h, w, c: s.codeDim / (h * w) }
}

const mapOf = (s: DecoderSettings, g: DecoderGeometry) => {
  const map = codeMap(s, g)
  if (typeof map === "string") throw new Error(map)
  return map
}

export const conv = decoderKind({
  ...convDeclaration,
  geometryProblem: (s, g) => {
    const map = codeMap(s, g)
    return typeof map === "string" ? map : null
  },
  roles: (s) =>
    Object.fromEntries(
      s.hidden
        .flatMap((_, k) => [
          [`W${k + 1}`, "weight"],
          [`b${k + 1}`, "bias"]
        ])
        .concat([[`W${s.hidden.length + 1}`, "weight"]])
    ),
  parameters: (s, g) => {
    const channels = [mapOf(s, g).c, ...s.hidden, 1]
    const out: ParameterSpec[] = []
    for (let k = 0; k + 1 < channels.length; k++) {
      const [inC, outC] = [channels[k], channels[k + 1]]
      // PyTorch's scale: 1/√fan_in, with each output pixel fed by (kernel/stride)² positions of every input channel.
      const bound = 1 / Math.sqrt(inC * (KERNEL / STRIDE) ** 2)
      const shape = [KERNEL, KERNEL, outC, inC]
      out.push({
        name: `W${k + 1}`,
        shape,
        role: "weight",
        init: (rng) =>
          tf.tensor4d(
            uniformArray(rng, KERNEL * KERNEL * outC * inC, -bound, bound),
            shape as [number, number, number, number]
          )
      })
      if (k + 2 < channels.length)
        out.push({ name: `b${k + 1}`, shape: [outC], role: "bias", init: () => tf.zeros([outC]) })
    }
    return out
  },
  forward: (params, z, s, g) => {
    const { h, w, c } = mapOf(s, g)
    const n = z.shape[0]
    const act = activations[s.activation]
    const layers = s.hidden.length + 1
    let x = tf.reshape(z, [n, h, w, c]) as tf.Tensor4D
    let hidden: tf.Tensor2D | null = null
    for (let k = 0; k < layers; k++) {
      const filter = params[`W${k + 1}`] as tf.Tensor4D
      const [, , outC] = filter.shape
      const scale = STRIDE ** (k + 1)
      x = tf.conv2dTranspose(x, filter, [n, h * scale, w * scale, outC], STRIDE, "same")
      if (k + 1 < layers) {
        x = act.apply(tf.add(x, params[`b${k + 1}`])) as tf.Tensor4D
        hidden ??= tf.reshape(x, [n, -1]) as tf.Tensor2D
      }
    }
    return { output: tf.reshape(x, [n, g.outputDim]) as tf.Tensor2D, hidden }
  },
  torch: () => ({
    kind: "refused",
    reason: "experiments/torch_load.py builds dense decoders only, and this one is convolutional"
  })
})
