/**
 * `sparse-vdl/data`: files and formats. MNIST as loaded, patch files, Arrow files of vectors,
 * image files as pixel rows, safetensors arrays, tables, and the errors of reading and writing
 * them. The data sets a model trains on are made from these in `sparse-vdl/pipeline`.
 *
 * One export line per module: a new format adds its line here.
 *
 * @packageDocumentation
 */

/** A seeded generator whose state can be saved and restored. */
export type { Rng } from "./random.js"
/** MNIST as loaded: pixels 0..255 and labels of each split. */
export type { MnistData, MnistSplit } from "./mnist/data.js"
/** The reader of a patch file (experiments/patches.ts build) and its contents. */
export { readPatchFile, PatchFileError, type PatchFile, type PatchSplit, type SplitName } from "./patch-file.js"
/** One row of metrics.arrow or of an evaluation table. */
export type { Row } from "./table.js"
/** Arrow IPC files of vectors: read a FixedSizeList<Float32> column; write codes as one. */
export { readVectorFile, codeTableToArrowIpc, VectorFileError, type VectorFile, type RowNames } from "./vector-file.js"
/** Image files as grey pixel rows of a given shape. */
export { readImageRows, readGrayPixels, expandImagePaths, type ImageShape } from "./image-rows.js"
/** A named array of a safetensors file. */
export type { NamedArray } from "./safetensors.js"

// Errors

/** Data that cannot be read: a missing source, a malformed IDX file, a failed checksum. */
export { DataSourceError, IdxFormatError, ChecksumError } from "./errors.js"
/** A file that could not be written. */
export { WriteError } from "./write-error.js"
/** Every error the data layer defines. */
export type { DataError } from "./errors.js"
/** A folder with one subfolder of images per class, read as labelled rows. */
export { readLabelledFolder, LabelledFolderError, MAX_CLASSES, type LabelledImages } from "./labelled-folder.js"
