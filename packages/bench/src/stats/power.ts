// Minimum detectable effect and the runs needed for a target effect, for the Welch test on logs and
// the paired t-test on per-round log ratios. Two-sided test at level alpha with power 1 − beta: an
// effect δ (log scale) is detected when δ ≥ (t[1 − alpha/2, df] + t[power, df]) · se.
import { tQuantile } from "./tdist.js";
import { welchDf } from "./welch.js";

export interface PowerOptions {
  alpha?: number;
  power?: number;
}

function multiplier(df: number, alpha: number, power: number): number {
  return tQuantile(1 - alpha / 2, df) + tQuantile(power, df);
}

/** Smallest effect, in percent, detectable with the given standard error and df. */
export function mdePercent(se: number, df: number, { alpha = 0.05, power = 0.8 }: PowerOptions = {}): number {
  return (Math.exp(multiplier(df, alpha, power) * se) - 1) * 100;
}

export const RUNS_CAP = 100_000;

/** Smallest n ≥ 2 for which `detects(n)` holds (monotone in n); null above RUNS_CAP. */
function smallestN(detects: (n: number) => boolean): number | null {
  let hi = 2;
  while (!detects(hi)) {
    if (hi >= RUNS_CAP) return null;
    hi = Math.min(hi * 2, RUNS_CAP);
  }
  let lo = Math.max(2, hi >> 1);
  if (detects(lo)) return lo;
  // detects(lo) is false and detects(hi) true: binary search for the first n that detects
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (detects(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function effectOf(targetPercent: number): number {
  if (!(targetPercent > 0)) throw new RangeError(`Expected a positive target effect but received ${targetPercent}`);
  return Math.log(1 + targetPercent / 100);
}

/**
 * Runs per side (equal on both sides) at which an effect of `targetPercent` reaches the MDE, given each
 * side's sample variance of log values; null when more than RUNS_CAP would be needed. With session
 * means as the values, the same answer counts sessions per side.
 */
export function runsForEffect(varLogBase: number, varLogHead: number, targetPercent: number, { alpha = 0.05, power = 0.8 }: PowerOptions = {}): number | null {
  const effect = effectOf(targetPercent);
  return smallestN((n) => {
    const a = varLogBase / n;
    const b = varLogHead / n;
    if (a + b === 0) return true;
    return multiplier(welchDf(a, b, n, n), alpha, power) * Math.sqrt(a + b) <= effect;
  });
}

/** Rounds (pairs) at which `targetPercent` reaches the paired MDE, given the variance of the per-round log ratios. */
export function pairsForEffect(varDiff: number, targetPercent: number, { alpha = 0.05, power = 0.8 }: PowerOptions = {}): number | null {
  const effect = effectOf(targetPercent);
  return smallestN((n) => varDiff === 0 || multiplier(n - 1, alpha, power) * Math.sqrt(varDiff / n) <= effect);
}
