// --fail-on-regression: exit 1 only for a significant regression larger than the threshold.
import type { Comparison } from "./files.js";

/**
 * A comparison fails the gate when head is significantly worse (the CI excludes 1) and the
 * estimated regression exceeds `thresholdPercent`.
 */
export function failsGate(c: Pick<Comparison, "significant" | "regressionPercent">, thresholdPercent: number): boolean {
  return c.significant === true && c.regressionPercent !== null && c.regressionPercent > thresholdPercent;
}

/**
 * 2 when any comparison has unusable data, or the gate is set and a verdict was withheld (one session
 * per side, no noise profile: a gate that cannot judge must not pass quietly); 1 when the gate fails;
 * 0 otherwise.
 */
export function exitCode(comparisons: readonly Comparison[], thresholdPercent: number | undefined): number {
  if (comparisons.some((c) => c.badInput)) return 2;
  if (thresholdPercent !== undefined && comparisons.some((c) => c.withheld)) return 2;
  if (thresholdPercent !== undefined && comparisons.some((c) => failsGate(c, thresholdPercent))) return 1;
  return 0;
}
