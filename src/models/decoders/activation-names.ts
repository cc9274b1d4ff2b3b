/**
 * The activations a decoder may put between its layers, by name (their maths: activations.ts).
 * The first is the default: the paper's ReLU. Kept apart so that the settings Schema and the
 * command-line help load no TensorFlow.js.
 */
export const activationNames = ["relu", "tanh", "softplus"] as const satisfies ReadonlyArray<string>

export type ActivationName = (typeof activationNames)[number]
