// Student's t and normal distribution functions (jstat), with the argument checks jstat leaves out.
import jStat from "jstat";

function checkDf(df: number): void {
  if (!(df > 0)) throw new RangeError(`Expected positive degrees of freedom but received ${df}`);
}

/** Quantile of Student's t with `df` degrees of freedom (fractional df allowed, as Welch produces). */
export function tQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p > 0 && p < 1)) throw new RangeError(`Expected probability in (0, 1) but received ${p}`);
  if (p === 0.5) return 0;
  return jStat.studentt.inv(p, df);
}

/** P(T <= t). */
export function tCdf(t: number, df: number): number {
  checkDf(df);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  return jStat.studentt.cdf(t, df);
}

/** Two-sided p-value of a t statistic; uses the lower tail directly so small p-values keep their precision. */
export function tTwoSidedP(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

export function normalCdf(z: number): number {
  return jStat.normal.cdf(z, 0, 1);
}

export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`Expected probability in (0, 1) but received ${p}`);
  return jStat.normal.inv(p, 0, 1);
}
