// Runs far from the rest (a host event: another process on the CPU, a burst of drops). Welch's
// variance is not robust to them, so they are counted and named rather than silently dropped.
import { median } from "./describe.js";

/** Indexes of values whose log lies more than `k` robust SDs (1.4826 · MAD) from the median log. */
export function outliers(values: readonly number[], k = 3.5): number[] {
  if (values.length < 3) return [];
  const logs = values.map(Math.log);
  const m = median(logs);
  const mad = median(logs.map((x) => Math.abs(x - m))) * 1.4826;
  if (mad === 0) return [];
  return logs.flatMap((x, i) => (Math.abs(x - m) > k * mad ? [i] : []));
}
