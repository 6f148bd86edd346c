/**
 * seqlab — recurrent neural networks you can see.
 *
 * The teaching API, small enough to read in one sitting: the lecture's cells and how time
 * is unrolled, hand-written BPTT and the checks of it, the architectures built from them
 * (bidirectional, encoder–decoder, attention) and their decoding, training, the tasks, and
 * plots. Each name is documented where it is defined.
 *
 * What tests and power users need beyond this — the fused WebAssembly kernels and their
 * controls, the float64 references, the plumbing of display and training — is in the
 * second entry, "seqlab/internal".
 */
import * as tf from "@tensorflow/tfjs";

// Setting up ------------------------------------------------------------------------------
/** The TensorFlow.js instance seqlab uses (import it from here to share the backend). */
export { tf };
export { initBackend, describeBackend } from "./backend";
export type { BackendName, BackendInfo } from "./backend";
export { version } from "./version";
export { Rng, disposeAll } from "./init";
export type { CellConfig } from "./init";
export { ShapeError, NonFiniteError, ConfigError, ValueError } from "./cells/checks";

// Cells: one step forward and back (src/cells) ---------------------------------------------
export type { Cell, CellName, CellChoice, CellInitConfig, HiddenState, StepGradients, AnyCell } from "./cells/cell";
export { CELLS } from "./cells/registry";
export { rnnStep, rnnStepBackward, rnnCell, initRnn } from "./cells/rnn/rnn";
export type { RnnParams } from "./cells/rnn/rnn";
export { lstmStep, lstmStepBackward, lstmCell, initLstm } from "./cells/lstm/lstm";
export type { LstmParams, LstmState, LstmStepOutput, LstmConfig } from "./cells/lstm/lstm";
export { gruStep, gruStepBackward, gruCell, initGru } from "./cells/gru/gru";
export type { GruParams, GruStepOutput } from "./cells/gru/gru";
export { gruPytorchCell, initGruPytorch } from "./cells/gru-pytorch/gru-pytorch";
export type { GruPytorchParams, GruPytorchStepOutput } from "./cells/gru-pytorch/gru-pytorch";
export { readout, readoutBackward, sequenceLoss, initReadout } from "./cells/readout";
export type { ReadoutParams, ReadoutConfig } from "./cells/readout";

// Time: unroll, and back-propagation through it ---------------------------------------------
export { unroll } from "./sequence/unroll";
export type { UnrollOptions, UnrollResult, UnrollLastResult } from "./sequence/unroll";
export { unrollStacked, layer } from "./sequence/stacked";
export type { Layer, AnyState, StackedOptions } from "./sequence/stacked";
export { unrollWithTape } from "./grad/tape";
export type { Tape, TapeStep } from "./grad/tape";
export { backwardThroughTime } from "./grad/bptt";
export type { BpttOptions, BpttResult } from "./grad/bptt";
export { rnnBptt } from "./grad/rnn-bptt";
export type { RnnLectureParams, RnnBpttResult } from "./grad/rnn-bptt";

// Checking gradients -------------------------------------------------------------------------
export { modelLoss, handGradients, autodiffGradients } from "./grad/gradients";
export type { ModelOptions, ModelGradients } from "./grad/gradients";
export { gradientReport, formatGradientReport } from "./grad/report";
export type { GradientReport, ReportRow, Agreement } from "./grad/report";
export { relError, scaledError, numericalGradient, numericalGradientArray } from "./grad/gradcheck";

// Architectures, attention, decoding (src/sequence) -------------------------------------------
export { RecurrentLayer } from "./sequence/recurrent-layer";
export type { RecurrentLayerConfig } from "./sequence/recurrent-layer";
export { bidirectional } from "./sequence/bidirectional";
export type { Merge, BidirectionalOptions, BidirectionalResult } from "./sequence/bidirectional";
export { RecurrentEncoder } from "./sequence/encoder";
export type { EncoderConfig, EncoderResult } from "./sequence/encoder";
export { SequenceToVector } from "./sequence/sequence-to-vector";
export type { SequenceToVectorConfig } from "./sequence/sequence-to-vector";
export { VectorToSequence } from "./sequence/vector-to-sequence";
export type { VectorToSequenceConfig, VectorFeed } from "./sequence/vector-to-sequence";
export { SequenceToSequence } from "./sequence/sequence-to-sequence";
export type { SequenceToSequenceConfig, GenerateOptions } from "./sequence/sequence-to-sequence";
export { TeacherForcingRnn } from "./sequence/teacher-forcing";
export type { TeacherForcingRnnConfig } from "./sequence/teacher-forcing";
export { EncoderDecoder } from "./sequence/encoder-decoder";
export type { EncoderDecoderConfig } from "./sequence/decoder";
export { AttentionEncoderDecoder } from "./sequence/attention-encoder-decoder";
export type { AttentionEncoderDecoderConfig } from "./sequence/attention-encoder-decoder";
export { additiveScore, dotScore, generalScore, scaledDotScore, attentionSoftmax, attentionContext } from "./sequence/attention";
export type { AdditiveAttentionParams, AttentionScore } from "./sequence/attention";
export { greedyDecode, sampleDecode, beamSearch } from "./sequence/decoding";
export type {
  StepDecoder,
  DecodeOptions,
  SampleOptions,
  BeamOptions,
  Decoded,
  BeamDecoded,
  MemoryState,
  SourceMemory,
  AnyDecoderState,
} from "./sequence/decoding";
export type { EncoderDecoderState } from "./sequence/decoder";

// Training (src/train) -------------------------------------------------------------------------
export type { Batch, Trainable, ForwardOptions, ForwardResult } from "./train/model";
export { fit, evaluate, NonFiniteLossError } from "./train/trainer";
export type { FitOptions, BatchSource, EvaluateOptions } from "./train/trainer";
export type { OptimizerName, OptimizerConfig } from "./train/optimizers";
export { globalNorm, clipByGlobalNorm, clipByValue } from "./train/clipping";
export type { ClipConfig } from "./train/clipping";
export { constantSchedule, linearSchedule, exponentialSchedule, inverseSigmoidSchedule } from "./train/schedules";
export type { Schedule } from "./train/schedules";
export type { History } from "./train/history";
export type { Callback, StepLog, EpochLog } from "./train/callbacks";
export { saveCheckpoint, loadCheckpoint } from "./train/checkpoint";
export { liveCurves } from "./train/live-curves";
export { trainLoop } from "./train/loop";
export type { TrainLoopOptions, TrainLoopResult, StepResult } from "./train/loop";
export { interruptible } from "./notebook";

// Tasks (src/data) -------------------------------------------------------------------------------
export { Vocab } from "./data/vocab";
export { padSequences, oneHotIds } from "./data/padding";
export { sineBatches, sineBaselines } from "./data/sine";
export { addingBatches, ADDING_BASELINE_MSE } from "./data/adding";
export { copyBatches } from "./data/copy";
export { parityBatches } from "./data/parity";
export { reberBatches, embeddedReberString, REBER_VOCAB } from "./data/reber";
export { reversalBatches, DIGITS_SOURCE_VOCAB, DIGITS_TARGET_VOCAB } from "./data/reversal";
export { sortingBatches } from "./data/sorting";
export { dateExamples, dateBatchOf, dateBatches, DATE_SOURCE_VOCAB, DATE_TARGET_VOCAB } from "./data/dates";
export type { DateExample, DateBatch } from "./data/dates";
export { loadCorpus, corpusVocab, splitText, textStreams, unigramPerplexity } from "./data/text";

// Plots (src/plot) ----------------------------------------------------------------------------------
export type { Figure } from "./plot/figure";
export { trainingCurves } from "./plot/training-curves";
export { heatmap, hiddenStates, gateActivations, attentionWeights } from "./plot/heatmap";
export { gradientFlow } from "./plot/gradient-flow";
export { sequencePrediction } from "./plot/sequence-prediction";
export { textActivation } from "./plot/text-activation";
export { unfoldedGraph } from "./plot/unfolded-graph";
export { show } from "./plot/show";
export { liveFigure } from "./plot/live";
export type { LiveFigure } from "./plot/live";
export { savePlot } from "./plot/export";

// Option types of the names above (types only) ---------------------------------------------------
export type { AddingOptions } from "./data/adding";
export type { CopyOptions } from "./data/copy";
export type { DateOptions } from "./data/dates";
export type { ParityOptions } from "./data/parity";
export type { ReberOptions } from "./data/reber";
export type { DigitStringOptions } from "./data/reversal";
export type { Seq2SeqBatch } from "./data/seq2seq";
export type { SineOptions } from "./data/sine";
export type { TextStreamOptions } from "./data/text";
export type { VocabOptions } from "./data/vocab";
export type { PadOptions } from "./data/padding";
export type { TbpttConfig } from "./train/tbptt";
export type { EarlyStoppingConfig } from "./train/early-stopping";
export type { LiveCurvesOptions } from "./train/live-curves";
export type { SavePlotOptions } from "./plot/export";
export type { LiveFigureOptions } from "./plot/live";
export type { HeatmapOptions, HiddenStatesOptions, GateActivationsOptions, AttentionOptions } from "./plot/heatmap";
export type { GradientFlowOptions } from "./plot/gradient-flow";
export type { SequencePredictionOptions } from "./plot/sequence-prediction";
export type { TextActivationOptions } from "./plot/text-activation";
export type { TrainingRun, TrainingCurvesOptions } from "./plot/training-curves";
export type { UnfoldedGraphSizes, UnfoldedGraphOptions } from "./plot/unfolded-graph";
