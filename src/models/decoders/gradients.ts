import * as tf from "@tensorflow/tfjs-core"

/**
 * The gradient functions of the operations decoders are built from, for TensorFlow.js autodiff.
 * tfjs-core registers none by itself, and the file that registers them all
 * (`@tensorflow/tfjs-core/dist/register_all_gradients`) is an ES module with extensionless
 * imports that Node cannot load; these are registered only where none is, so wherever that file
 * was loaded (a bundler, the full `@tensorflow/tfjs`) its own stay. Filter gradients are computed
 * from slices and products rather than by the Conv2DBackpropFilter kernel, which the wasm backend
 * lacks.
 */

type Saved = tf.Tensor[]

/** dy summed over the axes along which an input of `shape` was broadcast, then shaped like it. */
const unbroadcast = (dy: tf.Tensor, shape: number[]): tf.Tensor => {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape)
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape)
}

const binary = (
  kernelName: string,
  da: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  db: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor
): tf.GradConfig => ({
  kernelName,
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved) => {
    const [a, b] = saved as Saved
    const g = dy as tf.Tensor
    return { a: () => unbroadcast(da(g, a, b), a.shape), b: () => unbroadcast(db(g, a, b), b.shape) }
  }
})

const unary = (
  kernelName: string,
  dx: (dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor | undefined) => tf.Tensor,
  saveOutput = false
): tf.GradConfig => ({
  kernelName,
  inputsToSave: ["x"],
  ...(saveOutput ? { outputsToSave: [true] } : {}),
  gradFunc: (dy, saved) => {
    const [x, y] = saved as Saved
    return { x: () => dx(dy as tf.Tensor, x, y) }
  }
})

/**
 * y = conv2dTranspose(x, F), the adjoint of x = conv2d(y, F): with ȳ the gradient of y padded as
 * that conv2d pads, ∂/∂F[a,b,o,i] = Σ ȳ[n, s·p + a, s·q + b, o]·x[n,p,q,i], one strided slice and
 * one product per kernel tap.
 */
const transposedConvFilterGradient = (
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: "same" | "valid" | number
): tf.Tensor4D => {
  const [kh, kw, outC, inC] = filterShape
  const [sh, sw] = typeof strides === "number" ? [strides, strides] : strides
  const info = tf.backend_util.computeConv2DInfo(dy.shape, filterShape, [sh, sw], 1, pad)
  const { top, bottom, left, right } = info.padInfo
  const padded = tf.pad(dy, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0]
  ])
  const [n, h, w] = x.shape
  const xRows = tf.reshape(x, [n * h * w, inC])
  const taps: tf.Tensor[] = []
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const slice = tf.stridedSlice(
        padded,
        [0, a, b, 0],
        [n, a + sh * (h - 1) + 1, b + sw * (w - 1) + 1, outC],
        [1, sh, sw, 1]
      )
      taps.push(tf.matMul(tf.transpose(tf.reshape(slice, [n * h * w, outC])), xRows))
    }
  }
  return tf.reshape(tf.stack(taps), filterShape)
}

/**
 * y = conv2d(x, K) with stride 1 and no padding. ∂/∂x is the full correlation of the gradient
 * with K turned by 180° and its channels swapped, and ∂/∂K[a,b,i,o] = Σ x[n, p + a, q + b, i]·ȳ[n,p,q,o]
 * is the correlation of x with ȳ over the batch, the batch taking the place of the channels: both
 * stride-1 convolutions, fast on every backend, where tfjs's own take a transposed convolution and
 * the Conv2DBackpropFilter kernel that wasm lacks.
 */
const unitStrideConvGradients = (dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D) => {
  const [kh, kw] = filter.shape
  return {
    x: () =>
      tf.conv2d(
        tf.pad(dy, [
          [0, 0],
          [kh - 1, kh - 1],
          [kw - 1, kw - 1],
          [0, 0]
        ]),
        tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D,
        1,
        "valid"
      ),
    filter: () => {
      const byChannel = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D
      const asFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D
      return tf.transpose(tf.conv2d(byChannel, asFilter, 1, "valid"), [1, 2, 0, 3])
    }
  }
}

export const decoderGradients: ReadonlyArray<tf.GradConfig> = [
  binary(
    tf.Add,
    (dy) => dy,
    (dy) => dy
  ),
  binary(
    tf.Sub,
    (dy) => dy,
    (dy) => tf.neg(dy)
  ),
  binary(
    tf.Multiply,
    (dy, _a, b) => tf.mul(dy, b),
    (dy, a) => tf.mul(dy, a)
  ),
  binary(
    tf.RealDiv,
    (dy, _a, b) => tf.div(dy, b),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b)))
  ),
  unary(tf.Square, (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unary(tf.Neg, (dy) => tf.neg(dy)),
  unary(tf.Relu, (dy, x) => tf.mul(dy, tf.step(x))),
  unary(tf.Tanh, (dy, _x, y) => tf.mul(dy, tf.sub(1, tf.square(y as tf.Tensor))), true),
  unary(tf.Softplus, (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  {
    kernelName: tf.Reshape,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, (saved as Saved)[0].shape) })
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0]
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape)
      const kept = tf.backend_util.expandShapeToKeepDim((dy as tf.Tensor).shape, axes)
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.ones(x.shape)) }
    }
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0]
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape)
      const kept = tf.backend_util.expandShapeToKeepDim((dy as tf.Tensor).shape, axes)
      const count = axes.reduce((acc, a) => acc * x.shape[a], 1)
      return { x: () => tf.div(tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.ones(x.shape)), count) }
    }
  },
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as Saved
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean }
      const g = dy as tf.Tensor
      if (transposeA || transposeB)
        throw new Error(
          "decoder gradients: MatMul with transposed operands has no gradient here; write the product with explicit transposes"
        )
      return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) }
    }
  },
  {
    kernelName: tf.Conv2D,
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D]
      const { strides, pad, dataFormat, dilations } = attrs as unknown as tf.Conv2DAttrs
      const ones = (v: number | [number, number]) => (typeof v === "number" ? v === 1 : v[0] === 1 && v[1] === 1)
      if (!ones(strides) || !ones(dilations) || pad !== "valid" || dataFormat !== "NHWC") {
        throw new Error(
          "decoder gradients: conv2d is differentiated with stride 1, no dilation, valid padding, NHWC only; pad the input first"
        )
      }
      return unitStrideConvGradients(dy as tf.Tensor4D, x, filter)
    }
  },
  {
    kernelName: tf.PadV2,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0]
      const { paddings } = attrs as unknown as { paddings: Array<[number, number]> }
      return {
        x: () =>
          tf.slice(
            dy as tf.Tensor,
            paddings.map((p) => p[0]),
            x.shape
          )
      }
    }
  },
  {
    kernelName: tf.Reverse,
    gradFunc: (dy, _saved, attrs) => {
      const { dims } = attrs as unknown as { dims: number | number[] }
      return { x: () => tf.reverse(dy as tf.Tensor, dims) }
    }
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const { perm } = attrs as unknown as { perm: number[] }
      const inverse = perm.map((_, i) => perm.indexOf(i))
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) }
    }
  },
  {
    kernelName: tf.Conv2DBackpropInput,
    inputsToSave: ["dy", "filter"],
    gradFunc: (ddx, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D]
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DBackpropInputAttrs
      if (dataFormat !== "NHWC")
        throw new Error("decoder gradients: transposed convolutions are differentiated in NHWC only")
      const g = ddx as tf.Tensor4D
      return {
        dy: () => tf.conv2d(g, filter, strides, pad as "same" | "valid" | number, "NHWC", 1, dimRoundingMode),
        filter: () => transposedConvFilterGradient(g, x, filter.shape, strides, pad as "same" | "valid" | number)
      }
    }
  }
]

let registered = false

/** Register each of decoderGradients whose kernel has no gradient yet; once per process. */
export const registerMissingGradients = (): void => {
  if (registered) return
  registered = true
  for (const config of decoderGradients)
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config)
}
