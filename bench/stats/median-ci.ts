// Distribution-free confidence interval for a median from order statistics: [x(k), x(n−k+1)] with
// the largest k whose binomial coverage 1 − 2·P(B(n, ½) < k) still reaches the level asked for.
import { median } from "./describe.js";

export interface MedianCi {
  median: number;
  lo: number;
  hi: number;
  /** actual coverage of [lo, hi]; below the level asked for when n is too small (then lo = min, hi = max) */
  coverage: number;
}

/** P(B(n, ½) <= k) */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

export function medianCi(values: readonly number[], level = 0.95): MedianCi {
  if (values.length === 0) throw new RangeError("Expected at least one value for a median");
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  let k = 1;
  // widen inward while the next-narrower interval still covers the level
  while (k + 1 <= n - k && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  const coverage = n === 1 ? 0 : 1 - 2 * binomialHalfCdf(n, k - 1);
  return { median: median(xs), lo: xs[k - 1], hi: xs[n - k], coverage };
}
