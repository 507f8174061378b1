// One comparison of two samples (base, head): ratio with CI, significance, verdict, MDE, runs needed.
// Shared by `compare` (result files), `ab` (two interleaved configurations) and the kernel matrix.
// Unpaired (Welch on logs) for runs recorded apart; paired (per-round log ratios) for runs that
// took turns in one session.
import { cv, median, variance } from "../stats/describe.js";
import { pairedLog, signedRank, minSignedRankP } from "../stats/paired.js";
import { mdePercent, pairsForEffect, runsForEffect } from "../stats/power.js";
import { outliers } from "../stats/outliers.js";
import { mannWhitney } from "../stats/rank.js";
import { logs, welchLog } from "../stats/welch.js";

export type Verdict = "faster" | "slower" | "no detectable difference" | "no verdict";

export interface SampleOptions {
  higherIsBetter: boolean;
  /** effect (percent) to compute runsFor */
  targetPercent: number;
  alpha?: number;
  power?: number;
}

export interface SideStats {
  runs: number;
  median: number | null;
  cv: number | null;
}

/**
 * paired: per-round log ratios of one interleaved session; unpaired: Welch on the runs' logs;
 * sessions: Welch on the session means (several sessions per side); profile: one session per side
 * with the host's between-session variance from `ringpoll calibrate`.
 */
export type Analysis = "paired" | "unpaired" | "sessions" | "profile";

export interface RunsFor {
  targetPercent: number;
  /** what runsPerSide counts: runs (unpaired), rounds (paired) or sessions */
  unit: "runs" | "rounds" | "sessions";
  /** runs per side (both sides equal) at which the target effect is the MDE; null = more than 100000 */
  runsPerSide: number | null;
  /** runs still to add per side (0 when already resolved) */
  moreRunsPerSide: number | null;
}

export interface CrossCheck {
  method: "mann-whitney" | "wilcoxon-signed-rank";
  pValue: number;
  agrees: boolean;
  /** false when so few runs can never reach p < alpha */
  attainable: boolean;
}

export interface SampleComparison {
  analysis: Analysis;
  /** paired: rounds with a run on both sides; correlation of ln base and ln head over them */
  pairs?: number;
  correlation?: number | null;
  base: SideStats;
  head: SideStats;
  /** geometric-mean ratio head/base (centre of the CI) */
  ratio: number | null;
  /** ratio of the medians, for reading beside the medians */
  medianRatio: number | null;
  ci: [number, number] | null;
  pValue: number | null;
  significant: boolean | null;
  verdict: Verdict;
  /** how much worse head is, percent (positive = regression), from the ratio */
  regressionPercent: number | null;
  /** minimum detectable effect at the given power, percent */
  mde: number | null;
  runsFor: RunsFor | null;
  /** rank test on the same runs (signed-rank on the pairs when paired) */
  crossCheck: CrossCheck | null;
  /** indexes of runs far from the rest of their side (3.5 robust SDs on the log scale) */
  outliers: { base: number[]; head: number[] } | null;
  /** why there is no verdict */
  reason?: string;
}

export function sideStats(values: readonly number[]): SideStats {
  return {
    runs: values.length,
    median: values.length ? median(values) : null,
    cv: values.length >= 2 ? cv(values) : null,
  };
}

/** Why these samples cannot be compared, or null when they can. */
export function insufficient(base: readonly number[], head: readonly number[]): string | null {
  for (const [name, values] of [["base", base], ["head", head]] as const) {
    if (values.length === 0) return `${name} has no runs`;
    if (values.length === 1) return `${name} has a single run: no run-to-run variance to judge a difference against (at least 2 runs per side, 5 or more recommended)`;
  }
  if (variance(base) === 0 && variance(head) === 0) return "no run-to-run variance on either side (every run identical): the noise cannot be estimated";
  return null;
}

export function noVerdict(base: readonly number[], head: readonly number[], reason: string, analysis: Analysis = "unpaired"): SampleComparison {
  return {
    analysis,
    base: sideStats(base),
    head: sideStats(head),
    ratio: null,
    medianRatio: null,
    ci: null,
    pValue: null,
    significant: null,
    verdict: "no verdict",
    regressionPercent: null,
    mde: null,
    runsFor: null,
    crossCheck: null,
    outliers: null,
    reason,
  };
}

export function compareSamples(base: readonly number[], head: readonly number[], opts: SampleOptions): SampleComparison {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  const reason = insufficient(base, head);
  if (reason) return noVerdict(base, head, reason);

  const w = welchLog(base, head, 1 - alpha);
  const significant = w.pValue < alpha;
  const verdict = verdictOf(significant, w.ratio, opts.higherIsBetter);
  const rank = mannWhitney(base, head);
  const runsPerSide = runsForEffect(variance(logs("base", base)), variance(logs("head", head)), opts.targetPercent, { alpha, power });
  const current = Math.min(base.length, head.length);
  const b = sideStats(base);
  const h = sideStats(head);
  return {
    analysis: "unpaired",
    base: b,
    head: h,
    ratio: w.ratio,
    medianRatio: h.median! / b.median!,
    ci: w.ci,
    pValue: w.pValue,
    significant,
    verdict,
    regressionPercent: (opts.higherIsBetter ? 1 - w.ratio : w.ratio - 1) * 100,
    mde: mdePercent(w.se, w.df, { alpha, power }),
    runsFor: {
      targetPercent: opts.targetPercent,
      unit: "runs",
      runsPerSide,
      moreRunsPerSide: runsPerSide === null ? null : Math.max(0, runsPerSide - current),
    },
    crossCheck: { method: "mann-whitney", pValue: rank.pValue, agrees: rank.pValue < alpha === significant, attainable: minRankP(base.length, head.length) < alpha },
    outliers: { base: outliers(base), head: outliers(head) },
  };
}

export function verdictOf(significant: boolean, ratio: number, higherIsBetter: boolean): Verdict {
  if (!significant) return "no detectable difference";
  return (higherIsBetter ? ratio > 1 : ratio < 1) ? "faster" : "slower";
}

/**
 * Paired comparison of runs that took turns: `base[i]` and `head[i]` come from the same round.
 * This is the function the kernel matrix (`--interleave`) and `ab` call.
 */
export function comparePairedSamples(base: readonly number[], head: readonly number[], opts: SampleOptions): SampleComparison {
  if (base.length !== head.length) throw new RangeError(`Expected one base and one head value per round but received ${base.length} and ${head.length}`);
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  if (base.length < 2) return noVerdict(base, head, `${base.length === 0 ? "no rounds" : "a single round"} with both sides: no round-to-round variance to judge a difference against (at least 2 rounds, 10 or more recommended)`, "paired");
  const d = logs("head", head).map((y, i) => y - Math.log(base[i]));
  if (variance(d) === 0) return noVerdict(base, head, "every round has the same ratio head/base: the noise cannot be estimated", "paired");

  const p = pairedLog(base, head, 1 - alpha);
  const significant = p.pValue < alpha;
  const rank = signedRank(base, head);
  const rounds = pairsForEffect(p.varDiff, opts.targetPercent, { alpha, power });
  const b = sideStats(base);
  const h = sideStats(head);
  return {
    analysis: "paired",
    pairs: p.pairs,
    correlation: p.correlation,
    base: b,
    head: h,
    ratio: p.ratio,
    medianRatio: h.median! / b.median!,
    ci: p.ci,
    pValue: p.pValue,
    significant,
    verdict: verdictOf(significant, p.ratio, opts.higherIsBetter),
    regressionPercent: (opts.higherIsBetter ? 1 - p.ratio : p.ratio - 1) * 100,
    mde: mdePercent(p.se, p.df, { alpha, power }),
    runsFor: { targetPercent: opts.targetPercent, unit: "rounds", runsPerSide: rounds, moreRunsPerSide: rounds === null ? null : Math.max(0, rounds - p.pairs) },
    crossCheck: {
      method: "wilcoxon-signed-rank",
      pValue: rank.pValue,
      agrees: rank.pValue < alpha === significant,
      attainable: minSignedRankP(rank.nonZero) < alpha,
    },
    outliers: { base: outliers(base), head: outliers(head) },
  };
}

/** Smallest two-sided p the exact rank test can give: 2 / C(m + n, n). */
function minRankP(m: number, n: number): number {
  let c = 1;
  for (let i = 1; i <= n; i++) c = (c * (m + i)) / i;
  return Math.min(1, 2 / c);
}
