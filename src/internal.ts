/**
 * seqlab/internal — the second door: what seqlab's tests, benchmarks and power users need
 * beyond the teaching API of "seqlab" (src/index.ts). Nothing here is needed to follow the
 * course; names may change between versions.
 *
 * - the fused WebAssembly kernels: builds, threads, memory, profiling (src/fused);
 * - the float64 references and the finite-difference helpers (src/grad/f64, gradcheck);
 * - the parts models are assembled from (inputs, output heads, variables, masks, losses);
 * - the plumbing of display and training: the notebook bridge, progress, history, weights;
 * - single-batch task generators, shape checks and other helpers the public names use.
 */

// Backend, notebook bridge, helpers
export { BACKENDS, backendInfo } from "./backend";
export { inKernel, sendDisplay, flushOutput } from "./notebook";
export type { DisplayContent } from "./notebook";
export { uniformTensor, normalTensor, tidy } from "./init";
export { checkShape, checkRank, assertFinite, MAX_CELL_PARAMETERS } from "./cells/checks";
export type { Dim } from "./cells/checks";
export { checkKeys, suggest, editDistance, OptionError, ALIASES } from "./options";
export { checkFinite, checkInputs, withCheckedInputs, NonFiniteInputError } from "./sequence/finite";

// Seeds: how a model's seed becomes each part's (src/seeds.ts)
export { DEFAULT_SEED, SEED_OFFSETS, partSeed, layerSeed, gruPytorchBiasSeed } from "./seeds";
export type { SeedPart } from "./seeds";

// Cells: registry, sizes, the PyTorch-convention GRU's step
export { CELL_NAMES, resolveCell } from "./cells/registry";
export type { Params } from "./cells/cell";
export { rnnSizes } from "./cells/rnn/rnn";
export { lstmSizes } from "./cells/lstm/lstm";
export { gruSizes } from "./cells/gru/gru";
export { gruPytorchStep, gruPytorchStepBackward, gruPytorchSizes } from "./cells/gru-pytorch/gru-pytorch";
export { readoutSizes } from "./cells/readout";

// The unroll's reference loop and the stacked hand BPTT
export { unrollSteps, checkUnrollInputs } from "./sequence/unroll";
export type { StepRecord } from "./sequence/unroll";
export { unrollStackedWithTape, backwardStacked } from "./grad/stacked";
export type { StackedTapes } from "./grad/stacked";

// Fused kernels (WebAssembly)
export type { FusedCell, FusedCellDefinition, FusedSizes, FusedVector, FusedForwardArgs, FusedBackwardArgs } from "./fused/spec";
export { fusedCell, gateOffsets } from "./fused/spec";
export {
  fusedUnroll,
  fusedVariant,
  fusedProfile,
  resetFusedProfile,
  fusedMemory,
  fusedThreadChoices,
  releaseFusedMemory,
  MAX_LIVE,
  MAX_LIVE_BYTES,
} from "./fused/fused";
export type { FusedVariant, FusedProfile, FusedUnrollOptions, FusedMemory } from "./fused/fused";
export { fusedAttention, attentionVariant } from "./fused/attention";
export { fusedAttentionReadout, type FusedReadoutInputs } from "./fused/attention-readout";
export type { FusedAttentionInputs, FusedAttentionScore } from "./fused/attention";
export { installWasmMatMul, uninstallWasmMatMul, wasmMatMulInstalled } from "./fused/matmul";
export { FusedOptionError, fusedSetting, threadsSetting, relaxedSimdSetting } from "./fused/options";
export {
  TFJS_INTERNALS,
  TfjsInternalsError,
  checkTfjsInternals,
  missingTfjsInternals,
  offTape,
  wasmTensorView,
} from "./fused/tfjs-internals";
export type { TfjsInternal } from "./fused/tfjs-internals";
export { WasmHeap } from "./fused/heap";
export { setFusedThreads, requestedThreads, MIN_PARALLEL_WORK, AUTO_MIN_STEP_WORK } from "./fused/threads";
export {
  loadKernels,
  WasmArena,
  wasmMatMul,
  kernelBuild,
  kernelModule,
  relaxedSimd,
  instantiateKernels,
  instantiateSharedKernels,
} from "./fused/wasm";
export type { WasmKernels, KernelExports, WasmMemory, KernelBuild } from "./fused/wasm";

// Float64 references and gradient-check helpers
export type { RefCell, RefParams, RefVectors } from "./grad/f64/cell";
export { toF64, paramsToF64, zerosF64, cloneF64 } from "./grad/f64/linalg";
export type { F64 } from "./grad/f64/linalg";
export { referenceCell, referenceLoss, referenceGradients, numericGradients } from "./grad/f64/model";
export type { RefModel, RefGradients } from "./grad/f64/model";
export { maxAbsError, sparseGradCheck } from "./grad/gradcheck";
export type { SparseCheck } from "./grad/gradcheck";

// Parts of the architectures
export { makeCell, toVariables, prefixed } from "./sequence/recurrent-layer";
export { SequenceInput, checkSequence, DEFAULT_MAX_LENGTH, DEFAULT_EMBEDDING_SIZE } from "./sequence/inputs";
export type { InputConfig } from "./sequence/inputs";
export { OutputHead } from "./sequence/output-head";
export type { OutputConfig } from "./sequence/output-head";
export { embed, initEmbedding, checkTokenIds, VocabularyError } from "./sequence/embedding";
export type { EmbeddingConfig } from "./sequence/embedding";
export { crossEntropy, meanSquaredError, flattenTime } from "./sequence/loss";
export type { LossResult } from "./sequence/loss";
export { checkMask, maskFromLengths } from "./sequence/masks";
export { mergeDirections, mergedSize, MERGES } from "./sequence/bidirectional";
export { projectKeys, ATTENTION_SCORES } from "./sequence/attention";
export type { Query, Scores } from "./sequence/attention";
export { EncoderDecoderBase } from "./sequence/decoder";
export type { Memory, Readout } from "./sequence/decoder";
export type { DecoderState, DecoderStep } from "./sequence/decoding";
export { logSoftmaxRows } from "./sequence/decoding";

// Training plumbing
export { nextTurn, disposeBatch } from "./train/trainer";
export type { CarriedState } from "./train/model";
export { checkNotDisposed, DisposedModelError } from "./train/model";
export type { TrainContext } from "./train/callbacks";
export type { Checkpoint } from "./train/checkpoint";
export { clipByNorm, clipGradients } from "./train/clipping";
export type { Gradients } from "./train/clipping";
export { makeOptimizer, describeOptimizer, OPTIMIZER_DEFAULTS } from "./train/optimizers";
export type { SgdConfig, MomentumConfig, AdamConfig, RmspropConfig } from "./train/optimizers";
export { toSchedule } from "./train/schedules";
export { splitTime } from "./train/tbptt";
export { MetricMeans } from "./train/metrics";
export type { Metrics } from "./train/metrics";
export { emptyHistory, copyHistory, historyCurves } from "./train/history";
export type { StopReason } from "./train/history";
export { EarlyStopping } from "./train/early-stopping";
export type { Monitor } from "./train/early-stopping";
export { snapshotWeights, restoreWeights, disposeSnapshot } from "./train/weights";
export type { WeightSnapshot } from "./train/weights";
export { progressDisplay, progressText, progressHtml, formatDuration } from "./train/progress";
export type { ProgressOptions, ProgressState } from "./train/progress";
export { historyFigure } from "./train/live-curves";

// Tasks: single batches and helpers behind the public *Batches generators
export { addingBatch } from "./data/adding";
export { copyBatch, copyBaseline, copyVocabulary } from "./data/copy";
export { DATE_FORMATS, DATE_FORMAT_NAMES, formatDate, parseDate, isValidDate, isTestDate, dateBatch } from "./data/dates";
export type { SimpleDate, DateFormat } from "./data/dates";
export { padVectors, lengthMask, batchesOf } from "./data/padding";
export { seededBatches } from "./data/batches";
export type { BatchStreamOptions } from "./data/batches";
export { parityBatch } from "./data/parity";
export { reberString, reberNext, embeddedReberNext, isReber, isEmbeddedReber, reberBatch } from "./data/reber";
export { digitString, reversalPairs, reversalBatch } from "./data/reversal";
export { seq2seqBatchOf } from "./data/seq2seq";
export type { Seq2SeqPair } from "./data/seq2seq";
export { sineBatch } from "./data/sine";
export { sortingPairs, sortingBatch } from "./data/sorting";
export { UnknownSymbolError, SPECIALS } from "./data/vocab";
export type { Special } from "./data/vocab";

// Plot plumbing
export { renderedPlots, closeBrowser, chromiumPath, withPage, INSPECT_PLOTS } from "./plot/browser";
export { plotFileStem, titleOf } from "./plot/html";
export type { RenderedPlots } from "./plot/browser";
export { mimeBundle, sendPlotlyJs } from "./plot/show";
export { renderPicture, resetPictures, picturesEnabled } from "./plot/picture";
export type { Picture } from "./plot/html";
export { figureSummary } from "./plot/summary";
export { gradientFlowHeatmap } from "./plot/gradient-flow";
export type { Series, Matrix } from "./plot/figure";
