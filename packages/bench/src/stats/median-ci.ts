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

export function medianCi(values: readonly number[], level = 0.95): MedianCi {
  if (values.length === 0) throw new RangeError("Expected at least one value for a median");
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  // P(B(n, ½) = i) built up term by term on the log scale (0.5ⁿ underflows past n = 1074), so one
  // pass finds k: O(n), not O(n²) — a soak file has hundreds of thousands of runs
  let logTerm = n * Math.log(0.5);
  let cdf = Math.exp(logTerm); // P(B ≤ k − 1)
  let k = 1;
  // widen inward while the next-narrower interval still covers the level
  while (k + 1 <= n - k) {
    logTerm += Math.log((n - k + 1) / k);
    const next = cdf + Math.exp(logTerm); // P(B ≤ k)
    if (1 - 2 * next < level) break;
    cdf = next;
    k++;
  }
  const coverage = n === 1 ? 0 : 1 - 2 * cdf;
  return { median: median(xs), lo: xs[k - 1], hi: xs[n - k], coverage };
}
