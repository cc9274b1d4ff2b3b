import { join } from "node:path"

/** The best epoch so far (lowest validation energy): what the evaluations read. */
export const bestCheckpointFile = "checkpoint.safetensors"
/** The latest state of the run, after a finished epoch or at the batch where it was stopped: what a resume reads. */
export const lastCheckpointFile = "last.safetensors"
export const metricsFile = "metrics.arrow"
/** The same table as metricsFile, for a spreadsheet. */
export const metricsCsvFile = "metrics.csv"

/** Where an epoch's column grid is kept, so a run shows how its atoms formed. */
export const columnsSnapshotFile = (epoch: number) => join("columns", `epoch-${String(epoch + 1).padStart(3, "0")}.png`)
