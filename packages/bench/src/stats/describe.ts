// Descriptive statistics of one side's runs.
import jStat from "jstat";

export function median(values: readonly number[]): number {
  return jStat.median([...values]);
}

export function mean(values: readonly number[]): number {
  return jStat.mean([...values]);
}

/** Sample variance (n − 1 denominator); 0 for fewer than two values. */
export function variance(values: readonly number[]): number {
  return values.length < 2 ? 0 : jStat.variance([...values], true);
}

/** Coefficient of variation: sample standard deviation / mean. */
export function cv(values: readonly number[]): number {
  const m = mean(values);
  return values.length < 2 || m === 0 ? 0 : Math.sqrt(variance(values)) / Math.abs(m);
}
