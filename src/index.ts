/**
 * seqlab — recurrent neural networks you can see.
 *
 * The one public entry: notebooks, tests and users import only from "seqlab".
 */
import * as tf from "@tensorflow/tfjs";

/** The TensorFlow.js instance seqlab uses (import it from here to share the backend). */
export { tf };
export { BACKENDS, initBackend, backendInfo, describeBackend } from "./backend";
export type { BackendName, BackendInfo } from "./backend";
export { inKernel, sendDisplay, interruptible, flushOutput } from "./kernel";
export type { DisplayContent } from "./kernel";
export { version } from "./version";

// Recurrent core (cells, unroll, gradients)
export { Rng, uniformTensor, normalTensor, tidy, disposeAll } from "./init";
export type { CellConfig } from "./init";
export { ShapeError, NonFiniteError, checkShape, checkRank, assertFinite } from "./cells/checks";
export type { Dim } from "./cells/checks";
export type { Cell, CellName, HiddenState, Params, StepGradients, AnyCell } from "./cells/cell";
export { rnnStep, rnnStepBackward, rnnSizes, rnnCell, initRnn } from "./cells/rnn";
export type { RnnParams } from "./cells/rnn";
export { lstmStep, lstmStepBackward, lstmSizes, lstmCell, initLstm } from "./cells/lstm";
export type { LstmParams, LstmState, LstmStepOutput, LstmConfig } from "./cells/lstm";
export { gruStep, gruStepBackward, gruSizes, gruCell, initGru } from "./cells/gru";
export type { GruParams, GruStepOutput } from "./cells/gru";
export { gruPytorchStep, gruPytorchStepBackward, gruPytorchSizes, gruPytorchCell, initGruPytorch, gru } from "./cells/gru-pytorch";
export type { GruPytorchParams, GruPytorchStepOutput, GruConvention } from "./cells/gru-pytorch";
export { readout, sequenceLoss, readoutBackward, readoutSizes, initReadout } from "./cells/readout";
export type { ReadoutParams, ReadoutConfig } from "./cells/readout";
export { unroll, unrollWithTape } from "./sequence/unroll";
export type { UnrollOptions, UnrollResult, UnrollLastResult, Tape, TapeStep } from "./sequence/unroll";
export { layer, unrollStacked, unrollStackedWithTape, backwardStacked } from "./sequence/stacked";
export type { Layer, AnyState, StackedOptions, StackedTapes } from "./sequence/stacked";
export { backwardThroughTime } from "./grad/bptt";
export type { BpttOptions, BpttResult } from "./grad/bptt";
export { modelLoss, handGradients, autodiffGradients } from "./grad/gradients";
export type { ModelOptions, ModelGradients } from "./grad/gradients";
export { rnnBptt } from "./grad/rnn-bptt";
export type { RnnLectureParams, RnnBpttResult } from "./grad/rnn-bptt";
export { relError, scaledError, maxAbsError, numericalGradient, numericalGradientArray, sparseGradCheck } from "./grad/gradcheck";
export type { SparseCheck } from "./grad/gradcheck";
export { toF64, paramsToF64, zerosF64, cloneF64 } from "./grad/f64/linalg";
export type { F64 } from "./grad/f64/linalg";
export { REFERENCE_CELLS, referenceLoss, referenceGradients, numericGradients } from "./grad/f64/model";
export type { RefModel, RefGradients } from "./grad/f64/model";
export type { RefCell, RefParams, RefVectors } from "./grad/f64/cell";
export { gradientReport, formatGradientReport } from "./grad/report";
export type { GradientReport, ReportRow, Agreement } from "./grad/report";

// Fused kernels (WebAssembly)
export { loadKernels, WasmArena, wasmMatMul, kernelBuild, relaxedSimd } from "./kernels/wasm";
export type { WasmKernels, KernelExports, WasmMemory, KernelBuild } from "./kernels/wasm";
export { instantiateKernels, instantiateSharedKernels } from "./kernels/wasm";
export { WasmHeap } from "./kernels/heap";
export { setFusedThreads, requestedThreads, MIN_PARALLEL_WORK, AUTO_MIN_STEP_WORK } from "./kernels/threads";
export { fusedUnroll, fusedVariant, fusedProfile, resetFusedProfile, fusedMemory, releaseFusedMemory, MAX_LIVE, MAX_LIVE_BYTES } from "./kernels/fused";
export type { FusedVariant, FusedProfile, FusedUnrollOptions } from "./kernels/fused";

// Plots
export { trainingCurves } from "./plot/training-curves";
export type { TrainingRun, TrainingCurvesOptions } from "./plot/training-curves";
export { heatmap, hiddenStates, gateActivations, attentionWeights } from "./plot/heatmap";
export type { HeatmapOptions, HiddenStatesOptions, GateActivationsOptions, AttentionOptions } from "./plot/heatmap";
export { gradientFlow, gradientFlowHeatmap } from "./plot/gradient-flow";
export type { GradientFlowOptions } from "./plot/gradient-flow";
export { sequencePrediction } from "./plot/sequence-prediction";
export type { SequencePredictionOptions } from "./plot/sequence-prediction";
export { textActivation } from "./plot/text-activation";
export type { TextActivationOptions } from "./plot/text-activation";
export { unfoldedGraph } from "./plot/unfolded-graph";
export type { UnfoldedGraphSizes, UnfoldedGraphOptions } from "./plot/unfolded-graph";
export type { Figure, Series, Matrix } from "./plot/figure";
export { figureSummary } from "./plot/summary";
export { show, mimeBundle, sendPlotlyJs } from "./plot/show";
export { liveFigure } from "./plot/live";
export type { LiveFigure, LiveFigureOptions } from "./plot/live";
export { savePlot } from "./plot/export";
export type { SavePlotOptions } from "./plot/export";
export { renderedPlots, closeBrowser, chromiumPath } from "./plot/browser";
export type { RenderedPlots } from "./plot/browser";

// Training
export type { Batch, CarriedState, ForwardOptions, ForwardResult, Trainable } from "./train/model";
export { fit, evaluate, nextTurn, disposeBatch, NonFiniteLossError } from "./train/trainer";
export type { FitOptions, BatchSource, EvaluateOptions } from "./train/trainer";
export { makeOptimizer, describeOptimizer, OPTIMIZER_DEFAULTS } from "./train/optimizers";
export type { OptimizerName, OptimizerConfig, SgdConfig, MomentumConfig, AdamConfig, RmspropConfig } from "./train/optimizers";
export { globalNorm, clipByGlobalNorm, clipByNorm, clipByValue, clipGradients } from "./train/clipping";
export type { ClipConfig, Gradients } from "./train/clipping";
export { constantSchedule, linearSchedule, exponentialSchedule, inverseSigmoidSchedule, toSchedule } from "./train/schedules";
export type { Schedule } from "./train/schedules";
export { splitTime } from "./train/tbptt";
export type { TbpttConfig } from "./train/tbptt";
export { MetricMeans } from "./train/metrics";
export type { Metrics } from "./train/metrics";
export { emptyHistory, copyHistory, historyCurves } from "./train/history";
export type { History, StopReason } from "./train/history";
export { EarlyStopping } from "./train/early-stopping";
export type { EarlyStoppingConfig, Monitor } from "./train/early-stopping";
export { snapshotWeights, restoreWeights, disposeSnapshot } from "./train/weights";
export type { WeightSnapshot } from "./train/weights";
export { saveCheckpoint, loadCheckpoint } from "./train/checkpoint";
export type { Checkpoint } from "./train/checkpoint";
export type { Callback, StepLog, EpochLog, TrainContext } from "./train/callbacks";
export { progressDisplay, progressText, progressHtml, formatDuration } from "./train/progress";
export type { ProgressOptions, ProgressState } from "./train/progress";
export { liveCurves, historyFigure } from "./train/live-curves";
export type { LiveCurvesOptions } from "./train/live-curves";

// Tasks
export { Vocab, UnknownSymbolError, SPECIALS } from "./data/vocab";
export type { Special, VocabOptions } from "./data/vocab";
export { padSequences, padVectors, lengthMask, oneHotIds, batchesOf } from "./data/padding";
export type { PadOptions } from "./data/padding";
export { addingBatch, addingBatches, ADDING_BASELINE_MSE } from "./data/adding";
export type { AddingOptions } from "./data/adding";
export { copyBatch, copyBatches, copyBaseline, copyVocabulary } from "./data/copy";
export type { CopyOptions } from "./data/copy";
export {
  DATE_FORMATS, DATE_FORMAT_NAMES, DATE_SOURCE_VOCAB, DATE_TARGET_VOCAB,
  formatDate, parseDate, isValidDate, isTestDate, dateExamples, dateBatchOf, dateBatch, dateBatches,
} from "./data/dates";
export type { SimpleDate, DateFormat, DateExample, DateOptions, DateBatch } from "./data/dates";
export { sineBatch, sineBatches, sineBaselines } from "./data/sine";
export type { SineOptions } from "./data/sine";
export { parityBatch, parityBatches } from "./data/parity";
export type { ParityOptions } from "./data/parity";
export { REBER_VOCAB, reberString, embeddedReberString, reberNext, embeddedReberNext, isReber, isEmbeddedReber, reberBatch, reberBatches } from "./data/reber";
export type { ReberOptions } from "./data/reber";
export { seq2seqBatchOf } from "./data/seq2seq";
export type { Seq2SeqBatch, Seq2SeqPair } from "./data/seq2seq";
export { DIGITS_SOURCE_VOCAB, DIGITS_TARGET_VOCAB, digitString, reversalPairs, reversalBatch, reversalBatches } from "./data/reversal";
export type { DigitStringOptions } from "./data/reversal";
export { sortingPairs, sortingBatch, sortingBatches } from "./data/sorting";
export { loadCorpus, corpusVocab, splitText, textStreams, unigramPerplexity } from "./data/text";
export type { TextStreamOptions } from "./data/text";

// Architectures, attention, decoding
export { RecurrentLayer, makeCell, toVariables, prefixed, CELL_NAMES } from "./sequence/recurrent-layer";
export type { RecurrentLayerConfig } from "./sequence/recurrent-layer";
export { bidirectional, mergeDirections, mergedSize, MERGES } from "./sequence/bidirectional";
export type { Merge, BidirectionalOptions, BidirectionalResult } from "./sequence/bidirectional";
export { RecurrentEncoder } from "./sequence/encoder";
export type { EncoderConfig, EncoderResult } from "./sequence/encoder";
export { embed, initEmbedding, checkTokenIds, VocabularyError } from "./sequence/embedding";
export type { EmbeddingConfig } from "./sequence/embedding";
export { SequenceInput, checkSequence, DEFAULT_MAX_LENGTH } from "./sequence/inputs";
export type { InputConfig } from "./sequence/inputs";
export { checkMask, maskFromLengths } from "./sequence/masks";
export { crossEntropy, meanSquaredError, flattenTime } from "./sequence/loss";
export type { LossResult } from "./sequence/loss";
export { OutputHead } from "./sequence/output-head";
export type { OutputConfig } from "./sequence/output-head";
export { SequenceToVector } from "./sequence/sequence-to-vector";
export type { SequenceToVectorConfig } from "./sequence/sequence-to-vector";
export { VectorToSequence } from "./sequence/vector-to-sequence";
export type { VectorToSequenceConfig, VectorFeed } from "./sequence/vector-to-sequence";
export { SequenceToSequence } from "./sequence/sequence-to-sequence";
export type { SequenceToSequenceConfig, GenerateOptions } from "./sequence/sequence-to-sequence";
export { TeacherForcingRnn } from "./sequence/teacher-forcing";
export type { TeacherForcingRnnConfig } from "./sequence/teacher-forcing";
export {
  additiveScore, dotScore, generalScore, scaledDotScore, projectKeys, attentionSoftmax, attentionContext, ATTENTION_SCORES,
} from "./sequence/attention";
export type { AdditiveAttentionParams, AttentionScore, Query, Scores } from "./sequence/attention";
export { EncoderDecoderBase } from "./sequence/decoder";
export type { EncoderDecoderConfig, Memory, Readout } from "./sequence/decoder";
export { EncoderDecoder } from "./sequence/encoder-decoder";
export { AttentionEncoderDecoder } from "./sequence/attention-encoder-decoder";
export type { AttentionEncoderDecoderConfig } from "./sequence/attention-encoder-decoder";
export { greedyDecode, sampleDecode, beamSearch } from "./sequence/decoding";
export type { StepDecoder, DecoderState, DecoderStep, DecodeOptions, SampleOptions, BeamOptions, Decoded, BeamDecoded } from "./sequence/decoding";

// added: data helpers
export { DEFAULT_SEED, SEED_OFFSETS, partSeed, layerSeed, gruPytorchBiasSeed } from "./seeds";
export type { SeedPart } from "./seeds";
export { seededBatches } from "./data/batches";
export type { BatchStreamOptions } from "./data/batches";
export { DEFAULT_EMBEDDING_SIZE } from "./sequence/inputs";
