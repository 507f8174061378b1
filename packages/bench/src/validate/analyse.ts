// validate:stats analysis of a saved collection (sessions/*.json): how often each analysis raises a
// false alarm and finds an injected slowdown, within a session (paired and unpaired side by side) and
// across sessions (one session per side, with and without the host's between-session noise, and
// three sessions per side).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { compareSessions, type SessionValues } from "../compare/sessions.js";
import { BadInput, loadResultFile } from "../compare/input.js";
import { higherIsBetter, runValue, type MetricName } from "../compare/metric.js";
import { comparePairedSamples, compareSamples, type SampleComparison } from "../compare/samples.js";
import type { ProfileEntry } from "../compare/profile.js";
import { median } from "../stats/describe.js";
import { wilson } from "../stats/proportion.js";
import { varianceComponents } from "../stats/sessions.js";
import type { ResultFile, Run } from "../schema.js";

export interface Rate {
  hits: number;
  trials: number;
  rate: number;
  ci: [number, number];
}

export function rate(hits: number, trials: number): Rate {
  return { hits, trials, rate: trials ? hits / trials : 0, ci: wilson(hits, trials) };
}

/** One recorded session: runs by side name ("A", "A′", "+1.5 %") and the injected sides' work. */
export interface SavedSession {
  id: string;
  file: string;
  startedAt: string;
  sides: Map<string, Run[]>;
  inject: { name: string; percent: number; ns: number }[];
  seconds: number;
  loadavg: number | null;
}

export function loadSessions(dir: string): SavedSession[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, "sessions")).filter((n) => n.endsWith(".json")).sort();
  } catch (err) {
    throw new BadInput(`${join(dir, "sessions")}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (names.length === 0) throw new BadInput(`${join(dir, "sessions")}: no session files`);
  return names.map((n) => {
    const { path, data } = loadResultFile(join(dir, "sessions", n));
    return toSession(path, data);
  });
}

function toSession(path: string, f: ResultFile): SavedSession {
  const sides = new Map(f.results.map((r) => [String(r.params.validateSide), r.runs]));
  if (!sides.has("A") || !sides.has("A′")) throw new BadInput(`${path}: not a validate:stats session (no sides A and A′)`);
  const inject = f.results
    .filter((r) => Number(r.params.injectPercent) > 0)
    .map((r) => ({ name: String(r.params.validateSide), percent: Number(r.params.injectPercent), ns: Number(r.params.injectNs) }));
  const started = Date.parse(f.session?.startedAt ?? f.createdAt);
  return { id: f.session?.id ?? path, file: path, startedAt: f.session?.startedAt ?? f.createdAt, sides, inject, seconds: (Date.parse(f.createdAt) - started) / 1000, loadavg: null };
}

function values(runs: readonly Run[], metric: MetricName): number[] {
  return runs.map((r) => runValue(r, metric)).filter((v): v is number => typeof v === "number");
}

/** Aligned values of the rounds where both sides have one. */
function pairs(a: readonly Run[], b: readonly Run[], metric: MetricName): [number[], number[]] {
  const byRound = new Map(b.map((r) => [r.round, r]));
  const x: number[] = [];
  const y: number[] = [];
  for (const r of a) {
    const other = byRound.get(r.round);
    if (!other) continue;
    const [va, vb] = [runValue(r, metric), runValue(other, metric)];
    if (typeof va === "number" && typeof vb === "number") {
      x.push(va);
      y.push(vb);
    }
  }
  return [x, y];
}

export interface WithinFigures {
  analysis: "paired" | "unpaired";
  falseAlarms: Rate;
  detection: { percent: number; detected: Rate; wrongWay: number }[];
  /** median over sessions of A vs A′ */
  mde: number | null;
  runsForTarget: number | null;
}

export interface AcrossFigures {
  /** variances of logs of A's runs: within a session and between sessions (as SD, percent) */
  withinPercent: number;
  betweenPercent: number;
  sessions: number;
  /** one session per side, all pairs: Welch on the runs as if independent (compare before issue 17) */
  naive: Rate;
  /** one session per side, all pairs: between-session noise from the other sessions (a host profile) */
  profile: Rate;
  profileMde: number | null;
  /** one session per side: how many sessions per side 1.5 % (the target) would need, median over pairs */
  sessionsForTarget: number | null;
  /** three sessions per side, disjoint random draws: A/A false alarms and detection of each injection */
  three: { falseAlarms: Rate; detection: { percent: number; detected: Rate }[]; mde: number | null };
}

export interface MetricFigures {
  metric: MetricName;
  within: WithinFigures[];
  /** effect each injection produced, all sessions' rounds pooled and paired: ratio injected/A with CI */
  produced: { percent: number; ratio: number | null; ci: [number, number] | null; medianNs: number }[];
  /** median over sessions of the correlation of A and A′ over the rounds */
  correlation: number | null;
  across: AcrossFigures | null;
  unusableRuns: number;
}

function within(sessions: SavedSession[], metric: MetricName, analysis: "paired" | "unpaired", target: number): WithinFigures {
  const opts = { higherIsBetter: higherIsBetter(metric), targetPercent: target };
  const run = (a: readonly Run[], b: readonly Run[]): SampleComparison =>
    analysis === "paired" ? comparePairedSamples(...pairs(a, b, metric), opts) : compareSamples(values(a, metric), values(b, metric), opts);
  let alarms = 0;
  let trials = 0;
  const mdes: number[] = [];
  const needed: number[] = [];
  for (const s of sessions) {
    const c = run(s.sides.get("A")!, s.sides.get("A′")!);
    if (c.verdict === "no verdict") continue;
    trials++;
    if (c.significant) alarms++;
    if (c.mde !== null) mdes.push(c.mde);
    if (c.runsFor?.runsPerSide != null) needed.push(c.runsFor.runsPerSide);
  }
  const percents = [...new Set(sessions.flatMap((s) => s.inject.map((i) => i.percent)))].sort((x, y) => x - y);
  const detection = percents.map((percent) => {
    let hits = 0;
    let wrong = 0;
    let n = 0;
    for (const s of sessions) {
      const side = s.inject.find((i) => i.percent === percent);
      if (!side) continue;
      const c = run(s.sides.get("A")!, s.sides.get(side.name)!);
      if (c.verdict === "no verdict") continue;
      n++;
      if (c.verdict === "slower") hits++;
      if (c.verdict === "faster") wrong++;
    }
    return { percent, detected: rate(hits, n), wrongWay: wrong };
  });
  return { analysis, falseAlarms: rate(alarms, trials), detection, mde: mdes.length ? median(mdes) : null, runsForTarget: needed.length ? median(needed) : null };
}

/** Deterministic pseudo-random draws (mulberry32), so a re-analysis gives the same figures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw<T>(xs: readonly T[], k: number, random: () => number): T[] {
  const pool = [...xs];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}

const DRAWS = 400;

function across(sessions: SavedSession[], metric: MetricName, target: number): AcrossFigures | null {
  if (sessions.length < 3) return null;
  const opts = { higherIsBetter: higherIsBetter(metric), targetPercent: target };
  const sv = (s: SavedSession, side: string): SessionValues => ({ id: `${s.id} ${side}`, interleaved: false, values: values(s.sides.get(side)!, metric), rounds: [] });
  const usable = sessions.filter((s) => sv(s, "A").values.length >= 2);
  if (usable.length < 3) return null;
  const comps = varianceComponents(usable.map((s) => sv(s, "A").values.map(Math.log)));
  let naive = 0;
  let prof = 0;
  let pairsN = 0;
  let profN = 0;
  const mdes: number[] = [];
  const needed: number[] = [];
  for (let i = 0; i < usable.length; i++) {
    for (let j = i + 1; j < usable.length; j++) {
      const [a, b] = [sv(usable[i], "A"), sv(usable[j], "A")];
      pairsN++;
      if (compareSamples(a.values, b.values, opts).significant) naive++;
      if (usable.length < 4) continue;
      profN++;
      // the host profile as calibrate would have measured it: from the other sessions only
      const others = usable.filter((_, k) => k !== i && k !== j).map((s) => sv(s, "A").values.map(Math.log));
      const vc = varianceComponents(others);
      const entry: ProfileEntry = { scenario: "pps", receiver: "", params: {}, metric, within: vc.within, between: vc.between, dfBetween: vc.dfBetween, sessions: vc.sessions, runs: vc.runs };
      const c = compareSessions([a], [b], { ...opts, profile: { entry, note: "" } });
      if (c.significant) prof++;
      if (c.mde !== null) mdes.push(c.mde);
      if (c.runsFor?.runsPerSide != null) needed.push(c.runsFor.runsPerSide);
    }
  }
  // three sessions per side: random disjoint draws of six sessions
  const random = prng(17);
  let alarms3 = 0;
  let n3 = 0;
  const mdes3: number[] = [];
  const percents = [...new Set(sessions.flatMap((s) => s.inject.map((x) => x.percent)))].sort((x, y) => x - y);
  const hits3 = new Map(percents.map((p) => [p, { hits: 0, n: 0 }]));
  if (usable.length >= 6) {
    for (let d = 0; d < DRAWS; d++) {
      const six = draw(usable, 6, random);
      const [left, right] = [six.slice(0, 3), six.slice(3)];
      const c = compareSessions(left.map((s) => sv(s, "A")), right.map((s) => sv(s, "A")), { ...opts, profile: null });
      if (c.verdict !== "no verdict") {
        n3++;
        if (c.significant) alarms3++;
        if (c.mde !== null) mdes3.push(c.mde);
      }
      for (const p of percents) {
        const name = right[0].inject.find((x) => x.percent === p)?.name;
        if (!name || right.some((s) => !s.sides.has(name))) continue;
        const inj = compareSessions(left.map((s) => sv(s, "A")), right.map((s) => sv(s, name)), { ...opts, profile: null });
        if (inj.verdict === "no verdict") continue;
        const h = hits3.get(p)!;
        h.n++;
        if (inj.verdict === "slower") h.hits++;
      }
    }
  }
  return {
    withinPercent: Math.sqrt(comps.within) * 100,
    betweenPercent: Math.sqrt(comps.between) * 100,
    sessions: comps.sessions,
    naive: rate(naive, pairsN),
    profile: rate(prof, profN),
    profileMde: mdes.length ? median(mdes) : null,
    sessionsForTarget: needed.length ? median(needed) : null,
    three: { falseAlarms: rate(alarms3, n3), detection: percents.map((p) => ({ percent: p, detected: rate(hits3.get(p)!.hits, hits3.get(p)!.n) })), mde: mdes3.length ? median(mdes3) : null },
  };
}

function produced(sessions: SavedSession[], metric: MetricName): MetricFigures["produced"] {
  const percents = [...new Set(sessions.flatMap((s) => s.inject.map((i) => i.percent)))].sort((x, y) => x - y);
  return percents.map((percent) => {
    const a: number[] = [];
    const b: number[] = [];
    const ns: number[] = [];
    for (const s of sessions) {
      const side = s.inject.find((i) => i.percent === percent);
      if (!side) continue;
      ns.push(side.ns);
      const [x, y] = pairs(s.sides.get("A")!, s.sides.get(side.name)!, metric);
      a.push(...x);
      b.push(...y);
    }
    const c = comparePairedSamples(a, b, { higherIsBetter: higherIsBetter(metric), targetPercent: 1 });
    return { percent, ratio: c.ratio, ci: c.ci, medianNs: median(ns) };
  });
}

export function analyseMetric(sessions: SavedSession[], metric: MetricName, target: number): MetricFigures {
  const correlations = sessions
    .map((s) => comparePairedSamples(...pairs(s.sides.get("A")!, s.sides.get("A′")!, metric), { higherIsBetter: true, targetPercent: target }).correlation)
    .filter((c): c is number => typeof c === "number");
  const all = sessions.flatMap((s) => [...s.sides.values()].flat());
  return {
    metric,
    within: [within(sessions, metric, "paired", target), within(sessions, metric, "unpaired", target)],
    produced: produced(sessions, metric),
    correlation: correlations.length ? median(correlations) : null,
    across: across(sessions, metric, target),
    unusableRuns: all.length - values(all, metric).length,
  };
}

export interface Summary {
  dir: string;
  sessions: number;
  rounds: number;
  /** median wall time of a session, seconds, and of one run including its warm-up and set-up */
  sessionSeconds: number;
  runSeconds: number;
  firstStarted: string;
  lastStarted: string;
  kernel: string | null;
  cpu: string | null;
  nproc: number | null;
  duration: number | null;
  warmup: number | null;
  target: number;
  /** rounds a 2-sided `ab` would run in 180 s at this run time */
  abRoundsIn3Min: number;
  figures: MetricFigures[];
}

export function analyseDir(dir: string, target: number): Summary {
  const sessions = loadSessions(dir);
  const first = loadResultFile(sessions[0].file).data;
  const env = first.env as { kernel?: { release?: string }; cpu?: { modelName?: string }; nproc?: number };
  const rounds = median(sessions.map((s) => s.sides.get("A")!.length));
  const sides = sessions[0].sides.size;
  const sessionSeconds = median(sessions.map((s) => s.seconds));
  const runSeconds = sessionSeconds / (rounds * sides);
  const params = first.results[0].params;
  return {
    dir,
    sessions: sessions.length,
    rounds,
    sessionSeconds,
    runSeconds,
    firstStarted: sessions[0].startedAt,
    lastStarted: sessions[sessions.length - 1].startedAt,
    kernel: env.kernel?.release ?? null,
    cpu: env.cpu?.modelName ?? null,
    nproc: env.nproc ?? null,
    duration: typeof params.duration === "number" ? params.duration : null,
    warmup: null,
    target,
    abRoundsIn3Min: Math.floor(180 / (2 * runSeconds)),
    figures: (["pps", "cpuNsPerPacket"] as const).map((m) => analyseMetric(sessions, m, target)),
  };
}
