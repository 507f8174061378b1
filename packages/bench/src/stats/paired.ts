// Paired analysis of interleaved runs: in a round (A B or B A, a few seconds apart) both sides see
// the same host, so most of the noise is shared. The per-round log ratios d = ln head − ln base keep
// only what differs; a t interval on their mean is the ratio's CI (docs/statistics.md).
import wilcoxon from "@stdlib/stats-wilcoxon";
import { mean, variance } from "./describe.js";
import { tQuantile, tTwoSidedP } from "./tdist.js";
import { logs } from "./welch.js";

export interface PairedLog {
  /** exp(mean d): the geometric mean of the per-round ratios head/base */
  ratio: number;
  ci: [number, number];
  pValue: number;
  /** pairs − 1 */
  df: number;
  /** standard error of mean d */
  se: number;
  t: number;
  pairs: number;
  /** sample variance of d (per pair) */
  varDiff: number;
  /** Pearson correlation of ln base and ln head over the rounds; null when a side has no variance */
  correlation: number | null;
}

/** Log ratios of aligned pairs (base[i], head[i]). */
export function logRatios(base: readonly number[], head: readonly number[]): number[] {
  if (base.length !== head.length) throw new RangeError(`Expected as many base as head values for a paired analysis but received ${base.length} and ${head.length}`);
  const x = logs("base", base);
  const y = logs("head", head);
  return y.map((v, i) => v - x[i]);
}

function correlation(x: readonly number[], y: readonly number[]): number | null {
  const [mx, my] = [mean(x), mean(y)];
  let sxy = 0;
  for (let i = 0; i < x.length; i++) sxy += (x[i] - mx) * (y[i] - my);
  const denom = Math.sqrt(variance(x) * variance(y)) * (x.length - 1);
  return denom > 0 ? sxy / denom : null;
}

export function pairedLog(base: readonly number[], head: readonly number[], confidence = 0.95): PairedLog {
  const d = logRatios(base, head);
  if (d.length < 2) throw new RangeError("A paired analysis needs at least two pairs");
  const varDiff = variance(d);
  const se = Math.sqrt(varDiff / d.length);
  if (!(se > 0)) throw new RangeError("A paired analysis needs the per-round ratios to vary");
  const df = d.length - 1;
  const md = mean(d);
  const half = tQuantile(1 - (1 - confidence) / 2, df) * se;
  const t = md / se;
  return {
    ratio: Math.exp(md),
    ci: [Math.exp(md - half), Math.exp(md + half)],
    pValue: tTwoSidedP(t, df),
    df,
    se,
    t,
    pairs: d.length,
    varDiff,
    correlation: correlation(logs("base", base), logs("head", head)),
  };
}

export interface SignedRank {
  pValue: number;
  /** how many rounds have a non-zero ratio (zeros are dropped, Wilcoxon's convention) */
  nonZero: number;
}

/**
 * Wilcoxon signed-rank test on the per-round log ratios (stdlib: exact null distribution below 50
 * pairs without ties, normal approximation with continuity correction otherwise).
 */
export function signedRank(base: readonly number[], head: readonly number[]): SignedRank {
  const d = logRatios(base, head);
  const nonZero = d.filter((x) => x !== 0).length;
  if (nonZero === 0) return { pValue: 1, nonZero };
  return { pValue: Math.min(1, wilcoxon(d).pValue), nonZero };
}

/** Smallest two-sided p the exact signed-rank test can give with n pairs: 2 / 2ⁿ. */
export function minSignedRankP(n: number): number {
  return Math.min(1, 2 / 2 ** n);
}
