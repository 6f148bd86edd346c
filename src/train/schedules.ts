/**
 * Teacher forcing and scheduled sampling.
 *
 * The lecture's teacher-forcing networks feed the true previous output y(t−1) into h(t)
 * while training and their own prediction ŷ(t−1) when run. Scheduled sampling (Bengio et
 * al., 2015) closes that gap gradually: at training step i each decoder step is fed the
 * truth with probability εᵢ, and εᵢ falls from 1 towards 0 as training goes on.
 *
 * A schedule is a function of the step (0-based count of optimizer updates) giving εᵢ;
 * the trainer passes it to the model as `teacherForcingRatio`. The three decays of the
 * paper, with i the step:
 * ```
 * linear:          εᵢ = max(ε_min, ε₀ − c·i)
 * exponential:     εᵢ = kⁱ                     (k < 1)
 * inverse sigmoid: εᵢ = k / (k + exp(i / k))   (k ≥ 1)
 * ```
 */

/** εᵢ as a function of the training step i (0, 1, 2, …); values must lie in [0, 1]. */
export type Schedule = (step: number) => number;

/** A constant ratio (1 = always teacher forcing, 0 = always the model's own predictions). */
export function constantSchedule(ratio: number): Schedule {
  checkRatio("constantSchedule", ratio);
  return () => ratio;
}

/** εᵢ = max(to, from − (from − to)·i/steps): a straight line from `from` to `to` over `steps` steps, then flat. */
export function linearSchedule(options: { from?: number; to?: number; steps: number }): Schedule {
  const { from = 1, to = 0, steps } = options;
  checkRatio("linearSchedule from", from);
  checkRatio("linearSchedule to", to);
  if (!(steps > 0)) throw new Error(`linearSchedule: steps must be > 0, got ${steps}`);
  return (i) => (i >= steps ? to : from + ((to - from) * i) / steps);
}

/** εᵢ = kⁱ (Bengio et al.'s exponential decay), 0 < k < 1. */
export function exponentialSchedule(k: number): Schedule {
  if (!(k > 0 && k < 1)) throw new Error(`exponentialSchedule: k must be in (0, 1), got ${k}`);
  return (i) => Math.pow(k, i);
}

/** εᵢ = k / (k + exp(i/k)) (Bengio et al.'s inverse sigmoid decay), k ≥ 1: stays near 1, then falls around i ≈ k·ln k. */
export function inverseSigmoidSchedule(k: number): Schedule {
  if (!(k >= 1)) throw new Error(`inverseSigmoidSchedule: k must be ≥ 1, got ${k}`);
  return (i) => k / (k + Math.exp(i / k));
}

/** A ratio or a schedule → a schedule (checking the values it gives as they are used). */
export function toSchedule(s: number | Schedule): Schedule {
  if (typeof s === "number") return constantSchedule(s);
  return (i) => {
    const r = s(i);
    checkRatio(`teacher-forcing schedule at step ${i}`, r);
    return r;
  };
}

function checkRatio(what: string, r: number): void {
  if (!(typeof r === "number" && r >= 0 && r <= 1)) throw new Error(`${what}: a teacher-forcing ratio must be in [0, 1], got ${r}`);
}
