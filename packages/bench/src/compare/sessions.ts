// Comparisons when the runs come from several sessions (docs/statistics.md, "Sessions"):
// - one interleaved session on both sides: pair the runs by round (comparePairedSamples);
// - one session, not interleaved: Welch on the runs (compareSamples);
// - two or more sessions per side: Welch on the session means of the logs — the session is the unit,
//   so the between-session noise is in the variance;
// - a side with one session, the other side another session: the runs cannot show the between-session
//   noise, so either the host's noise profile supplies it or the verdict is withheld with the number of
//   sessions per side that would resolve the target.
import { mean, variance } from "../stats/describe.js";
import { mdePercent, runsForEffect } from "../stats/power.js";
import { outliers } from "../stats/outliers.js";
import { mannWhitney } from "../stats/rank.js";
import { varianceComponents } from "../stats/sessions.js";
import { tQuantile, tTwoSidedP } from "../stats/tdist.js";
import { logs } from "../stats/welch.js";
import type { ProfileEntry } from "./profile.js";
import { comparePairedSamples, compareSamples, insufficient, noVerdict, sideStats, verdictOf, type SampleComparison, type SampleOptions } from "./samples.js";

/** One session's runs on one side: values and, when known, each run's round. */
export interface SessionValues {
  id: string;
  interleaved: boolean;
  values: number[];
  rounds: (number | null)[];
  /** rounds during which other work used more of the host than CompareOptions.maxOtherBusy allows */
  busyRounds?: Set<number>;
}

export interface SessionFigures {
  base: number;
  head: number;
  /** per-run and between-session noise as a CV-like percent (√variance of logs · 100), when estimable */
  withinPercent: number | null;
  betweenPercent: number | null;
}

export interface SessionComparison extends SampleComparison {
  sessions: SessionFigures;
  /** the verdict was withheld because a side has a single session and no noise profile applies */
  withheld: boolean;
  notes: string[];
}

const asPercent = (v: number | null) => (v === null ? null : Math.sqrt(v) * 100);

function flat(s: readonly SessionValues[]): number[] {
  return s.flatMap((x) => x.values);
}

/** Aligned values of the rounds present on both sides once; null when the runs cannot be paired. */
export function pairByRound(base: SessionValues, head: SessionValues): { base: number[]; head: number[]; dropped: number } | null {
  const index = (s: SessionValues): Map<number, number> | null => {
    const m = new Map<number, number>();
    for (let i = 0; i < s.values.length; i++) {
      const r = s.rounds[i];
      if (r === null || !Number.isInteger(r) || r < 0 || m.has(r)) return null;
      m.set(r, s.values[i]);
    }
    return m;
  };
  const [b, h] = [index(base), index(head)];
  if (!b || !h) return null;
  const rounds = [...b.keys()].filter((r) => h.has(r)).sort((x, y) => x - y);
  return { base: rounds.map((r) => b.get(r)!), head: rounds.map((r) => h.get(r)!), dropped: b.size + h.size - 2 * rounds.length };
}

/** The rounds two sides can be paired on: one interleaved session on both sides with ≥ 2 shared rounds; else null. */
export function pairsOf(base: readonly SessionValues[], head: readonly SessionValues[]): ReturnType<typeof pairByRound> {
  if (base.length !== 1 || head.length !== 1 || base[0]!.id !== head[0]!.id || !base[0]!.interleaved) return null;
  const pairs = pairByRound(base[0]!, head[0]!);
  return pairs && pairs.base.length >= 2 ? pairs : null;
}

function figures(base: readonly SessionValues[], head: readonly SessionValues[]): SessionFigures {
  const groups = [...base, ...head].filter((s) => s.values.length > 0).map((s) => logs("run", s.values));
  let within: number | null = null;
  let between: number | null = null;
  // only sessions of the same side estimate the between-session noise (the sides may really differ)
  const perSide = [base, head].filter((s) => s.length >= 2).map((side) => side.map((s) => logs("run", s.values)));
  if (perSide.length) {
    const comps = perSide.map((g) => varianceComponents(g));
    between = comps.reduce((s, c) => s + c.between * c.dfBetween, 0) / comps.reduce((s, c) => s + c.dfBetween, 0);
  }
  const dfw = groups.reduce((s, g) => s + g.length - 1, 0);
  if (dfw > 0) within = groups.reduce((s, g) => s + variance(g) * (g.length - 1), 0) / dfw;
  return { base: base.length, head: head.length, withinPercent: asPercent(within), betweenPercent: asPercent(between) };
}

function withRunStats(c: SampleComparison, base: readonly SessionValues[], head: readonly SessionValues[]): SampleComparison {
  return { ...c, base: sideStats(flat(base)), head: sideStats(flat(head)) };
}

/** Welch's test on session means of the logs (equal weight per session). */
function sessionMeans(base: readonly SessionValues[], head: readonly SessionValues[], opts: SampleOptions): SampleComparison {
  const gm = (s: readonly SessionValues[]) => s.map((x) => Math.exp(mean(logs("run", x.values))));
  const [b, h] = [gm(base), gm(head)];
  const c = compareSamples(b, h, opts);
  const rank = c.verdict === "no verdict" ? null : mannWhitney(b, h);
  return {
    ...withRunStats(c, base, head),
    analysis: "sessions",
    runsFor: c.runsFor && { ...c.runsFor, unit: "sessions", moreRunsPerSide: c.runsFor.runsPerSide === null ? null : Math.max(0, c.runsFor.runsPerSide - Math.min(b.length, h.length)) },
    crossCheck: c.crossCheck && rank ? { ...c.crossCheck, pValue: rank.pValue } : c.crossCheck,
    outliers: null,
  };
}

interface Part {
  mean: number;
  /** variance of the side's mean (ln²) */
  v: number;
  /** components for Satterthwaite: [variance term, its df] */
  terms: [number, number][];
  /** variance of one session's mean on this side (for sessions needed) */
  perSession: number;
}

function part(side: readonly SessionValues[], between: ProfileEntry): Part {
  if (side.length >= 2) {
    const means = side.map((s) => mean(logs("run", s.values)));
    const v = variance(means) / means.length;
    return { mean: mean(means), v, terms: [[v, means.length - 1]], perSession: variance(means) };
  }
  const x = logs("run", side[0].values);
  const w = variance(x) / x.length;
  return { mean: mean(x), v: w + between.between, terms: [[w, x.length - 1], [between.between, between.dfBetween]], perSession: w + between.between };
}

/** One session on at least one side: the between-session variance comes from the host's profile. */
function withProfile(base: readonly SessionValues[], head: readonly SessionValues[], entry: ProfileEntry, opts: SampleOptions): SampleComparison {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  const [b, h] = [part(base, entry), part(head, entry)];
  const se = Math.sqrt(b.v + h.v);
  // the profile's σ²_between enters once per single-session side: merge those terms (same estimate)
  const terms = [...b.terms, ...h.terms];
  const df = se ** 4 / terms.reduce((s, [v, d]) => s + (d > 0 ? v ** 2 / d : 0), 0);
  const diff = h.mean - b.mean;
  const half = tQuantile(1 - alpha / 2, df) * se;
  const pValue = tTwoSidedP(diff / se, df);
  const ratio = Math.exp(diff);
  const significant = pValue < alpha;
  const sessions = runsForEffect(b.perSession, h.perSession, opts.targetPercent, { alpha, power });
  const [bs, hs] = [sideStats(flat(base)), sideStats(flat(head))];
  return {
    analysis: "profile",
    base: bs,
    head: hs,
    ratio,
    medianRatio: hs.median! / bs.median!,
    ci: [Math.exp(diff - half), Math.exp(diff + half)],
    pValue,
    significant,
    verdict: verdictOf(significant, ratio, opts.higherIsBetter),
    regressionPercent: (opts.higherIsBetter ? 1 - ratio : ratio - 1) * 100,
    mde: mdePercent(se, df, { alpha, power }),
    runsFor: { targetPercent: opts.targetPercent, unit: "sessions", runsPerSide: sessions, moreRunsPerSide: sessions === null ? null : Math.max(0, sessions - Math.min(base.length, head.length)) },
    crossCheck: null,
    outliers: base.length === 1 && head.length === 1 ? { base: outliers(base[0].values), head: outliers(head[0].values) } : null,
  };
}

/** Sessions per side that would resolve the target, from the noise this data shows (a lower bound without a between-session estimate). */
function sessionsNeeded(base: readonly SessionValues[], head: readonly SessionValues[], between: number | null, opts: SampleOptions): number | null {
  const perSession = (side: readonly SessionValues[]) => {
    const x = logs("run", flat(side));
    return variance(x) / Math.max(1, Math.round(x.length / side.length)) + (between ?? 0);
  };
  return runsForEffect(perSession(base), perSession(head), opts.targetPercent, { alpha: opts.alpha, power: opts.power });
}

export interface SessionOptions extends SampleOptions {
  /** the host's between-session noise for this scenario/receiver/metric, and a note on where it came from */
  profile: { entry: ProfileEntry; note: string } | null;
}

export function compareSessions(base: readonly SessionValues[], head: readonly SessionValues[], opts: SessionOptions): SessionComparison {
  const f = figures(base, head);
  const notes: string[] = [];
  const done = (c: SampleComparison, withheld = false): SessionComparison => ({ ...c, sessions: f, withheld, notes });
  const [bv, hv] = [flat(base), flat(head)];
  const why = insufficient(bv, hv);
  if (why) return done(noVerdict(bv, hv, why));

  if (base.length === 1 && head.length === 1 && base[0].id === head[0].id) {
    const pairs = pairsOf(base, head);
    if (pairs) {
      if (pairs.dropped) notes.push(`${pairs.dropped} runs without a partner in the other side's round were left out of the pairing`);
      return done(comparePairedSamples(pairs.base, pairs.head, opts));
    }
    if (base[0].interleaved) notes.push("one interleaved session, but its runs could not be paired by round: compared unpaired");
    return done(compareSamples(bv, hv, opts));
  }
  if (base.length >= 2 && head.length >= 2) {
    const tooFew = [...base, ...head].find((s) => s.values.length === 0);
    if (tooFew) notes.push(`session ${tooFew.id} has no usable runs and counts as none`);
    return done(sessionMeans(base.filter((s) => s.values.length), head.filter((s) => s.values.length), opts));
  }
  if (opts.profile) {
    notes.push(opts.profile.note);
    return done(withProfile(base, head, opts.profile.entry, opts));
  }
  const between = f.betweenPercent === null ? null : (f.betweenPercent / 100) ** 2;
  const n = sessionsNeeded(base, head, between, opts);
  const count = n === null ? "more than 100000" : between === null ? `at least ${Math.max(2, n)}` : String(Math.max(2, n));
  const reason =
    `${base.length === 1 ? "base" : "head"} has a single session, recorded apart from the other side: its runs show the noise within a session, not how much sessions of this host differ. ` +
    `Record ${count} sessions per side for ${opts.targetPercent} % (compare a1.json a2.json … -- b1.json b2.json …), or measure this host's between-session noise once with ringpoll calibrate`;
  return done(
    {
      ...noVerdict(bv, hv, reason, "sessions"),
      runsFor: { targetPercent: opts.targetPercent, unit: "sessions", runsPerSide: n === null ? null : Math.max(2, n), moreRunsPerSide: n === null ? null : Math.max(2, n) - Math.min(base.length, head.length) },
    },
    true,
  );
}
