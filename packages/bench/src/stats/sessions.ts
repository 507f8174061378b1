// Noise within and between sessions (one-way random-effects ANOVA on log values, method of moments):
// a run's log = session effect (variance σ²_between) + run noise (σ²_within). Runs of one session only
// show σ²_within; two sessions recorded apart differ by σ²_between on top of it.
import { mean } from "./describe.js";

export interface VarianceComponents {
  sessions: number;
  runs: number;
  /** pooled variance of logs within sessions, df = runs − sessions */
  within: number;
  dfWithin: number;
  /** variance of the session effect, max(0, (MS_between − MS_within) / n₀); df = sessions − 1 */
  between: number;
  dfBetween: number;
  /** runs per session as the formula counts them (n₀; the mean when every session has as many) */
  n0: number;
}

/** `groups`: the log values of each session (sessions with no run are ignored). */
export function varianceComponents(groups: readonly (readonly number[])[]): VarianceComponents {
  const g = groups.filter((x) => x.length > 0);
  const k = g.length;
  const N = g.reduce((s, x) => s + x.length, 0);
  if (k < 2) throw new RangeError("Between-session variance needs at least two sessions");
  if (N - k < 1) throw new RangeError("Within-session variance needs a session with at least two runs");
  const grand = mean(g.flat());
  let ssWithin = 0;
  let ssBetween = 0;
  for (const x of g) {
    const m = mean(x);
    for (const v of x) ssWithin += (v - m) ** 2;
    ssBetween += x.length * (m - grand) ** 2;
  }
  const msWithin = ssWithin / (N - k);
  const msBetween = ssBetween / (k - 1);
  const n0 = (N - g.reduce((s, x) => s + x.length ** 2, 0) / N) / (k - 1);
  return { sessions: k, runs: N, within: msWithin, dfWithin: N - k, between: Math.max(0, (msBetween - msWithin) / n0), dfBetween: k - 1, n0 };
}
