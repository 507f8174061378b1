// Interleaved A/B on one host: rounds of A B, then B A (so slow drift hits both sides alike), added
// until every metric's CI half-width reaches the target, the round limit, or the time budget. Both
// sides run in every round, so the comparison is paired by round (per-round log ratios).
// The rule stops on precision, never on significance: stopping when p < 0.05 would inflate false
// alarms, while the CI width does not depend on which side is ahead (docs/statistics.md).
import type { Run } from "../schema.js";
import { runValue, higherIsBetter, type MetricName } from "../compare/metric.js";
import { comparePairedSamples, type SampleComparison } from "../compare/samples.js";

export interface AbSide {
  label: string;
  /** one measured run of this side */
  measure(round: number): Promise<Run>;
}

export interface AbOptions {
  metrics: MetricName[];
  minRounds: number;
  maxRounds: number;
  /** stop when the 95 % CI of every ratio is within ± this percent */
  halfWidthPercent: number;
  budgetSeconds: number;
  targetPercent: number;
  onRound?: (state: AbState) => void;
  now?: () => number;
}

export interface AbState {
  rounds: number;
  seconds: number;
  /** widest CI half-width over the metrics, percent; null before two rounds */
  halfWidth: number | null;
}

export interface MetricComparison {
  metric: MetricName;
  comparison: SampleComparison;
}

export interface AbOutcome {
  rounds: number;
  seconds: number;
  stopReason: string;
  a: Run[];
  b: Run[];
  comparisons: MetricComparison[];
}

/** Half-width of a ratio CI in percent, measured on the log scale (the interval is symmetric there). */
export function halfWidthPercent(ci: [number, number]): number {
  return (Math.sqrt(ci[1] / ci[0]) - 1) * 100;
}

/** Values of the rounds where both runs have one (a run without packets drops its round). */
function pairs(a: Run[], b: Run[], metric: MetricName): [number[], number[]] {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [va, vb] = [runValue(a[i], metric), runValue(b[i], metric)];
    if (typeof va === "number" && typeof vb === "number") {
      x.push(va);
      y.push(vb);
    }
  }
  return [x, y];
}

export function compareRuns(a: Run[], b: Run[], metrics: MetricName[], targetPercent: number): MetricComparison[] {
  return metrics.map((metric) => ({
    metric,
    comparison: comparePairedSamples(...pairs(a, b, metric), { higherIsBetter: higherIsBetter(metric), targetPercent }),
  }));
}

/** The widest half-width over the comparisons; null when any has no CI yet. */
export function widest(comparisons: MetricComparison[]): number | null {
  let w = 0;
  for (const { comparison } of comparisons) {
    if (!comparison.ci) return null;
    w = Math.max(w, halfWidthPercent(comparison.ci));
  }
  return w;
}

/** Why to stop before the next round, or null to go on. */
export function stopReason(state: AbState, secondsPerRound: number, opts: Pick<AbOptions, "minRounds" | "maxRounds" | "halfWidthPercent" | "budgetSeconds">): string | null {
  if (state.rounds >= opts.minRounds && state.halfWidth !== null && state.halfWidth <= opts.halfWidthPercent) {
    return `CI half-width ${state.halfWidth.toFixed(2)} % reached the target ${opts.halfWidthPercent} %`;
  }
  if (state.rounds >= opts.maxRounds) return `round limit ${opts.maxRounds} reached`;
  if (state.rounds >= 2 && state.seconds + secondsPerRound > opts.budgetSeconds) {
    return `time budget ${opts.budgetSeconds} s would be exceeded by another round`;
  }
  return null;
}

export async function runAb(a: AbSide, b: AbSide, opts: AbOptions): Promise<AbOutcome> {
  const now = opts.now ?? (() => performance.now() / 1000);
  const start = now();
  const runsA: Run[] = [];
  const runsB: Run[] = [];
  let comparisons: MetricComparison[] = [];
  for (let round = 0; ; round++) {
    const state: AbState = { rounds: round, seconds: now() - start, halfWidth: widest(comparisons) };
    const reason = stopReason(state, round ? state.seconds / round : 0, opts);
    if (reason) return { rounds: round, seconds: state.seconds, stopReason: reason, a: runsA, b: runsB, comparisons };
    const order = round % 2 === 0 ? [a, b] : [b, a];
    for (const [slot, side] of order.entries()) (side === a ? runsA : runsB).push({ ...(await side.measure(round)), slot });
    comparisons = compareRuns(runsA, runsB, opts.metrics, opts.targetPercent);
    opts.onRound?.({ rounds: round + 1, seconds: now() - start, halfWidth: widest(comparisons) });
  }
}
