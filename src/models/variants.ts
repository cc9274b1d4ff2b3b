import type { ModelSettings } from "./settings.js"

/**
 * The variant registry: each entry is the paper's settings (SPEC §5) for one way of preventing
 * the collapse of code norms, per data set. A new variant is one more entry; any field can be
 * overridden by the caller.
 */
export type Dataset = "mnist" | "patches"

export interface Variant {
  readonly name: string
  readonly description: string
  readonly settings: Readonly<Record<Dataset, ModelSettings>>
}

const common = {
  listaSteps: 3,
  batchSize: 250,
  fista: { maxSteps: 200, tol: 1e-3 },
  hiddenBiasDecay: 0,
  decoderWeightDecay: 0,
  decoderLrHalvingEvery: 0,
  unitNormAtoms: false
} as const

const mnist = { ...common, codeDim: 128, epochs: 200, encoderBiasDecay: 0 } as const
const patches = { ...common, codeDim: 256, epochs: 100, encoderBiasDecay: 0.01 } as const

const fixed = (eta: number) => ({ kind: "fixed", eta }) as const

export const variants: Readonly<Record<string, Variant>> = {
  sdl: {
    name: "sdl",
    description: "linear dictionary, unit-norm columns, no variance term",
    settings: {
      mnist: { ...mnist, hidden: [], energy: { lambda: 0.005, beta: 0, tau: 0.5, gamma: 1 },
        fista: { ...common.fista, step: fixed(1) }, decoderLr: 1e-3, encoderLr: 3e-4, unitNormAtoms: true },
      patches: { ...patches, hidden: [], energy: { lambda: 0.005, beta: 0, tau: 0.5, gamma: 1 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 1e-3, encoderLr: 1e-4, unitNormAtoms: true }
    }
  },
  "sdl-nl": {
    name: "sdl-nl",
    description: "one-hidden-layer decoder, unit-norm columns in both layers, weight decay on the hidden bias",
    settings: {
      mnist: { ...mnist, hidden: [1024], energy: { lambda: 0.01, beta: 0, tau: 0.5, gamma: 1 },
        fista: { ...common.fista, step: fixed(1) }, decoderLr: 1e-3, encoderLr: 1e-4, unitNormAtoms: true, hiddenBiasDecay: 1e-3 },
      patches: { ...patches, hidden: [2048], energy: { lambda: 0.01, beta: 0, tau: 0.5, gamma: 1 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 1e-3, encoderLr: 1e-4, unitNormAtoms: true, hiddenBiasDecay: 0.01 }
    }
  },
  vdl: {
    name: "vdl",
    description: "linear dictionary, variance hinge on the codes, decoder unconstrained",
    settings: {
      mnist: { ...mnist, hidden: [], energy: { lambda: 0.02, beta: 10, tau: 0.5, gamma: 5 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 3e-4, encoderLr: 1e-4 },
      patches: { ...patches, hidden: [], energy: { lambda: 0.01, beta: 10, tau: 0.5, gamma: 5 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 3e-4, encoderLr: 1e-4 }
    }
  },
  "vdl-nl": {
    name: "vdl-nl",
    description: "one-hidden-layer decoder, variance hinge, weight decay on the hidden bias, decoder LR halved every 30 epochs",
    settings: {
      mnist: { ...mnist, hidden: [1024], energy: { lambda: 0.01, beta: 10, tau: 0.5, gamma: 100 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 3e-4, encoderLr: 1e-4, hiddenBiasDecay: 1e-3,
        decoderLrHalvingEvery: 30 },
      patches: { ...patches, hidden: [2048], energy: { lambda: 0.01, beta: 10, tau: 0.5, gamma: 40 },
        fista: { ...common.fista, step: fixed(0.5) }, decoderLr: 5e-5, encoderLr: 1e-4, hiddenBiasDecay: 0.1,
        decoderLrHalvingEvery: 30 }
    }
  }
}

export const variantNames = (): string[] => Object.keys(variants)
