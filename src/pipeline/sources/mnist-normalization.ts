import { MNIST_MEAN, MNIST_STD } from "../../data/mnist/normalize.js"
import type { Normalization } from "./normalization.js"

/** MNIST's fixed standardisation; apart from normalization.ts, which loads TensorFlow.js, so that the sources' registry does not. */
export const mnistNormalization: Normalization = { kind: "global", mean: MNIST_MEAN, std: MNIST_STD }
