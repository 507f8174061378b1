// Welch's unequal-variance t-test on log-transformed values: the ratio head/base with a
// confidence interval and a two-sided p-value (the method mmtests uses; see docs/statistics.md).
import { mean, variance } from "./describe.js";
import { tQuantile, tTwoSidedP } from "./tdist.js";

export interface WelchLog {
  /** geometric-mean ratio head/base, the centre of the interval */
  ratio: number;
  ci: [number, number];
  pValue: number;
  /** Welch–Satterthwaite degrees of freedom */
  df: number;
  /** standard error of the difference of log means */
  se: number;
  t: number;
}

export function logs(name: string, values: readonly number[]): number[] {
  return values.map((v, i) => {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`Expected positive finite values for ${name} but received ${v} at index ${i}`);
    return Math.log(v);
  });
}

/** Welch–Satterthwaite df for two variance/n terms; `a`, `b` = s² / n of each side. */
export function welchDf(a: number, b: number, nA: number, nB: number): number {
  return (a + b) ** 2 / (a ** 2 / (nA - 1) + b ** 2 / (nB - 1));
}

export function welchLog(base: readonly number[], head: readonly number[], confidence = 0.95): WelchLog {
  if (base.length < 2 || head.length < 2) throw new RangeError("Welch's test needs at least two values per side");
  const x = logs("base", base);
  const y = logs("head", head);
  const a = variance(x) / x.length;
  const b = variance(y) / y.length;
  const se = Math.sqrt(a + b);
  if (!(se > 0)) throw new RangeError("Welch's test needs variance on at least one side");
  const df = welchDf(a, b, x.length, y.length);
  const diff = mean(y) - mean(x);
  const half = tQuantile(1 - (1 - confidence) / 2, df) * se;
  const t = diff / se;
  return { ratio: Math.exp(diff), ci: [Math.exp(diff - half), Math.exp(diff + half)], pValue: tTwoSidedP(t, df), df, se, t };
}
