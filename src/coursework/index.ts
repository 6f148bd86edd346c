/**
 * seqlab/coursework — the checks students run in the assignments (coursework/assignments).
 *
 * Each check takes the student's function, runs it on seeded inputs, and compares every
 * quantity with the float64 reference and with finite differences. A wrong answer throws a
 * CheckFailure naming the quantity, how far off it is, and what that usually means; a right
 * one prints a ✓ line. The same checks, with other seeds and sizes, are the hidden tests.
 */
export { CheckFailure, expectClose, passed, callStudent, numbersOf, fmtError, FLOAT32_TOLERANCE } from "./compare";
export type { Mistake, CloseOptions, Numbers } from "./compare";
export * from "./rnn";
export * from "./gated";
export * from "./attention";
export * from "./project";
