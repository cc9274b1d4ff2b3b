import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { SparseCodingModel } from "../../models/model.js"
import { psnrSum, zeroCount } from "../../models/metrics.js"
import { normalArray } from "../../models/rng.js"
import type { Dataset } from "../sources/dataset.js"
import { Progress } from "../train/progress.js"
import { rngFor } from "../train/seeds.js"
import { batchCodes, type CodeKind, codeKinds, evenBatches } from "./codes.js"

/**
 * Standard normal draws, one per value of a data set, from the seed's noise stream. Noise of level
 * σ is σ times these, so every level and every run sees the same pattern and differences between
 * them are the models', not the draws'.
 */
export const standardNoise = (seed: number, size: number): Float32Array => normalArray(rngFor(seed, "noise"), size)

/** x + σ·noise, in the model's input space: normalised for MNIST, after LCN for patches. */
export const addNoise = (x: Float32Array, noise: Float32Array, sigma: number): Float32Array => {
  const out = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) out[i] = x[i] + sigma * noise[i]
  return out
}

/** Mean PSNR over images in pixel space of `estimate` against `reference`, both in the model's input space. */
export const meanPsnr = (ds: Dataset, reference: Float32Array, estimate: Float32Array, indices?: Int32Array): number =>
  tf.tidy(() => {
    const rows = reference.length / ds.dim
    const idx = indices ?? Int32Array.from({ length: rows }, (_, i) => i)
    const a = ds.toPixels(tf.tensor2d(reference, [rows, ds.dim]), idx)
    const b = ds.toPixels(tf.tensor2d(estimate, [rows, ds.dim]), idx)
    return psnrSum(a, b) / rows
  })

export interface DenoiseSettings {
  /** Noise levels, in the model's input space; 0 is allowed and gives the clean figures. */
  readonly sigmas: ReadonlyArray<number>
  /** Standard normal draws, ds.rows × ds.dim of them (see standardNoise). */
  readonly noise: Float32Array
  /** How many of the first images to keep as pictures. */
  readonly examples: number
}

/** The figures of one code kind at one noise level, averaged over the images of the data set. */
export interface DenoiseLevel {
  readonly sigma: number
  readonly kind: CodeKind
  /** PSNR of the noisy input against the clean image (the same for every run and kind). */
  readonly noisyPsnr: number
  /** PSNR of D(codes of the noisy input) against the clean image. */
  readonly denoisedPsnr: number
  /** PSNR of D(codes of the clean input) against the clean image: the ceiling at σ = 0. */
  readonly cleanPsnr: number
  readonly cleanZeroFraction: number
  readonly noisyZeroFraction: number
  /** Mean FISTA steps per image on the noisy input (0 for the encoder). */
  readonly meanFistaSteps: number
}

/** Pixel images of the first `count` rows: clean, then per noise level the noisy input and each kind's reconstruction. */
export interface DenoiseExamples {
  readonly count: number
  readonly clean: Float32Array
  readonly noisy: ReadonlyArray<Float32Array>
  readonly denoised: Readonly<Record<CodeKind, ReadonlyArray<Float32Array>>>
}

export interface DenoiseResult {
  readonly levels: ReadonlyArray<DenoiseLevel>
  readonly examples: DenoiseExamples
}

interface PassTotals {
  noisyPsnr: number
  psnr: Record<CodeKind, number>
  zeros: Record<CodeKind, number>
  entries: number
  fistaSteps: number
}

/**
 * Denoising with one model on one data set: for each level σ, the input plus σ·noise is
 * encoded (and inferred by FISTA), decoded, and compared with the clean image in pixel space.
 * The clean input is one more pass, at σ = 0, for the ceiling and the clean codes' sparsity.
 */
export const denoiseModel = (model: SparseCodingModel, ds: Dataset, settings: DenoiseSettings, label: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (settings.noise.length !== ds.rows * ds.dim) {
        return yield* Effect.dieMessage(
          `denoiseModel: ${settings.noise.length} noise values for ${ds.rows} × ${ds.dim} inputs`
        )
      }
      const progress = yield* Progress
      const batches = evenBatches(ds.rows, model.settings.batchSize)
      const count = Math.min(settings.examples, ds.rows)
      const size = ds.dim
      const examples = {
        clean: new Float32Array(count * size),
        noisy: settings.sigmas.map(() => new Float32Array(count * size)),
        denoised: {
          encoder: settings.sigmas.map(() => new Float32Array(count * size)),
          fista: settings.sigmas.map(() => new Float32Array(count * size))
        }
      }
      const pass = (sigma: number, level: number | null) =>
        Effect.gen(function* () {
          const bar = yield* progress.bar(`${label} σ=${sigma}`, batches.length)
          const totals: PassTotals = {
            noisyPsnr: 0,
            psnr: { encoder: 0, fista: 0 },
            zeros: { encoder: 0, fista: 0 },
            entries: 0,
            fistaSteps: 0
          }
          for (const [b, [start, end]] of batches.entries()) {
            const rows = end - start
            const indices = Int32Array.from({ length: rows }, (_, i) => start + i)
            const cleanHost = ds.x.subarray(start * size, end * size)
            const input =
              sigma === 0 ? cleanHost : addNoise(cleanHost, settings.noise.subarray(start * size, end * size), sigma)
            const keep = Math.max(0, Math.min(end, count) - start)
            // Everything made here, the codes included, is released when the batch is done.
            tf.tidy(() => {
              const clean = tf.tensor2d(cleanHost, [rows, size])
              const x = tf.tensor2d(input, [rows, size])
              const cleanPixels = ds.toPixels(clean, indices)
              const codes = batchCodes(model, x)
              const byKind: Record<CodeKind, tf.Tensor2D> = { encoder: codes.encoder, fista: codes.fista.codes }
              totals.noisyPsnr += psnrSum(cleanPixels, ds.toPixels(x, indices))
              totals.fistaSteps += codes.fista.meanSteps * rows
              totals.entries += codes.encoder.size
              for (const kind of codeKinds) {
                const reconstruction = ds.toPixels(model.decoder.decode(byKind[kind]), indices)
                totals.psnr[kind] += psnrSum(cleanPixels, reconstruction)
                totals.zeros[kind] += zeroCount(byKind[kind])
                if (keep > 0 && level !== null)
                  examples.denoised[kind][level].set(
                    (reconstruction.dataSync() as Float32Array).subarray(0, keep * size),
                    start * size
                  )
              }
              if (keep > 0) {
                const pixels = ds.toPixels(x, indices).dataSync() as Float32Array
                if (level === null) examples.clean.set(pixels.subarray(0, keep * size), start * size)
                else examples.noisy[level].set(pixels.subarray(0, keep * size), start * size)
              }
            })
            yield* bar.update(b + 1, `FISTA steps ${(totals.fistaSteps / end).toFixed(1)}`)
          }
          return totals
        })
      const clean = yield* pass(0, null)
      const levels: DenoiseLevel[] = []
      for (const [level, sigma] of settings.sigmas.entries()) {
        const noisy = yield* pass(sigma, level)
        for (const kind of codeKinds) {
          levels.push({
            sigma,
            kind,
            noisyPsnr: noisy.noisyPsnr / ds.rows,
            denoisedPsnr: noisy.psnr[kind] / ds.rows,
            cleanPsnr: clean.psnr[kind] / ds.rows,
            cleanZeroFraction: clean.zeros[kind] / clean.entries,
            noisyZeroFraction: noisy.zeros[kind] / noisy.entries,
            meanFistaSteps: kind === "fista" ? noisy.fistaSteps / ds.rows : 0
          })
        }
      }
      return { levels, examples: { count, ...examples } } satisfies DenoiseResult
    })
  )
