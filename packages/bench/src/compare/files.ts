// compare: result files on two sides. Each side is one file or several (sessions); results match by
// scenario, receiver and params, and every match is compared per metric with the analysis its
// sessions allow (bench/compare/sessions.ts).
import type { ScenarioResult } from "../schema.js";
import { BadInput, type LoadedFile } from "./input.js";
import { byKey, describeResult } from "./match.js";
import { headlineMetric, higherIsBetter, runValue, type MetricName } from "./metric.js";
import { defaultProfilePath, findEntry, loadProfile, type LoadedProfile } from "./profile.js";
import { noVerdict, type SampleComparison, type SideStats } from "./samples.js";
import { compareSessions, pairsOf, type SessionFigures, type SessionValues } from "./sessions.js";

export interface CompareOptions {
  /** "headline" = pps / tps / iops by scenario */
  metrics: (MetricName | "headline")[];
  targetPercent: number;
  /** compare results recorded under emulation anyway */
  force: boolean;
  /** the host's between-session noise (ringpoll calibrate), for sides with a single session; undefined = the default profile when it exists */
  profile?: LoadedProfile | null;
  alpha?: number;
  power?: number;
  /**
   * Leave out the rounds of an interleaved session during which work other than the bench used more
   * than this fraction of the host (extra.hostOtherBusy, recorded by matrix --interleave), on both
   * sides. The load is measured, not the result, so what is left stays a fair pairing.
   */
  maxOtherBusy?: number;
}

export interface FileSide extends SideStats {
  /** the file, or the first file and how many more */
  file: string;
  files: string[];
  kernel: string | null;
  emulated: boolean;
}

export interface Comparison extends Omit<SampleComparison, "base" | "head"> {
  scenario: string;
  receiver: string;
  params: Record<string, number | string | boolean>;
  metric: MetricName;
  higherIsBetter: boolean;
  base: FileSide;
  head: FileSide;
  sessions: SessionFigures | null;
  /** no verdict because a side has one session and no noise profile applies (a gate cannot pass on it) */
  withheld: boolean;
  /** the data itself is unusable (no runs, one run, bad values): exit code 2 */
  badInput: boolean;
  notes: string[];
}

export interface CompareReport {
  comparisons: Comparison[];
  notes: string[];
}

function kernelOf(f: LoadedFile): string | null {
  const release = (f.data.env as { kernel?: { release?: unknown } } | undefined)?.kernel?.release;
  return typeof release === "string" ? release : null;
}

export function cpuOf(f: LoadedFile): string | null {
  const cpu = (f.data.env as { cpu?: { modelName?: unknown } } | undefined)?.cpu;
  return typeof cpu?.modelName === "string" ? cpu.modelName : null;
}

function hostNotes(files: readonly LoadedFile[]): string[] {
  const notes: string[] = [];
  const cpus = new Map<string, string>();
  for (const f of files) {
    const c = cpuOf(f);
    if (c && !cpus.has(c)) cpus.set(c, f.path);
  }
  if (cpus.size > 1) notes.push(`the files ran on different CPUs (${[...cpus].map(([c, p]) => `${c} in ${p}`).join(", ")}): the ratio mixes kernel and hardware`);
  for (const f of files) {
    const warnings = (f.data.env as { warnings?: unknown } | undefined)?.warnings;
    if (Array.isArray(warnings) && warnings.length) notes.push(`${f.path} host warnings: ${warnings.join("; ")}`);
  }
  return notes;
}

/** v2 files name their session; a v1 file is a session of its own. */
function sessionOf(f: LoadedFile): { id: string; interleaved: boolean } {
  return f.data.session ? { id: f.data.session.id, interleaved: f.data.session.interleaved } : { id: `file ${f.path}`, interleaved: false };
}

interface KeyedSide {
  result: ScenarioResult;
  entries: { file: LoadedFile; result: ScenarioResult }[];
}

function keyed(files: readonly LoadedFile[]): Map<string, KeyedSide> {
  const map = new Map<string, KeyedSide>();
  for (const file of files) {
    for (const [key, result] of byKey(file.data.results)) {
      const seen = map.get(key);
      if (seen) seen.entries.push({ file, result });
      else map.set(key, { result, entries: [{ file, result }] });
    }
  }
  return map;
}

/** Values of one metric grouped by session, and the runs that have none. */
function sessionValues(side: KeyedSide, metric: MetricName, name: string, maxOtherBusy?: number): { sessions: SessionValues[]; problems: string[] } {
  const byId = new Map<string, SessionValues>();
  const problems: string[] = [];
  for (const { file, result } of side.entries) {
    const s = sessionOf(file);
    const entry = byId.get(s.id) ?? { ...s, values: [], rounds: [], busyRounds: new Set<number>() };
    byId.set(s.id, entry);
    const where = side.entries.length > 1 ? `${name} ${file.path}` : name;
    result.runs.forEach((run, i) => {
      const v = run === null || typeof run !== "object" ? "not an object" : runValue(run, metric);
      if (typeof v !== "number") {
        problems.push(`${where} run ${i}: ${v}`);
        return;
      }
      const round = typeof run.round === "number" && Number.isFinite(run.round) ? run.round : null;
      entry.values.push(v);
      entry.rounds.push(round);
      const other = (run.extra as { hostOtherBusy?: unknown } | undefined)?.hostOtherBusy;
      if (maxOtherBusy !== undefined && round !== null && typeof other === "number" && other > maxOtherBusy) entry.busyRounds!.add(round);
    });
  }
  return { sessions: [...byId.values()], problems };
}

function sideLabel(files: readonly LoadedFile[]): { file: string; files: string[] } {
  const paths = [...new Set(files.map((f) => f.path))];
  return { file: paths.length === 1 ? paths[0] : `${paths[0]} + ${paths.length - 1} more`, files: paths };
}

function commonKernel(files: readonly LoadedFile[]): string | null {
  const ks = new Set(files.map(kernelOf));
  return ks.size === 1 ? [...ks][0] : null;
}

/**
 * Takes the rounds either side marked busy out of both sides of one interleaved session; returns a
 * note on what was left out, or null when nothing was (or the sides cannot be paired by round).
 */
function leaveOutBusyRounds(base: SessionValues[], head: SessionValues[], maxOtherBusy: number): string | null {
  if (!pairsOf(base, head)) return null;
  const shared = new Set(base[0]!.rounds.filter((r) => r !== null && head[0]!.rounds.includes(r)));
  const busy = new Set([...base[0]!.busyRounds!, ...head[0]!.busyRounds!].filter((r) => shared.has(r)));
  if (busy.size === 0) return null;
  for (const s of [base[0]!, head[0]!]) {
    const keep = s.rounds.map((r) => r === null || !busy.has(r));
    s.values = s.values.filter((_, i) => keep[i]);
    s.rounds = s.rounds.filter((_, i) => keep[i]);
  }
  return `${busy.size} of ${shared.size} rounds left out: other work used more than ${Math.round(maxOtherBusy * 100)} % of the host during them (--max-other-busy)`;
}

/** Compares the files of one side (base) with those of the other (head). */
export function compareSides(baseFiles: readonly LoadedFile[], headFiles: readonly LoadedFile[], opts: CompareOptions): CompareReport {
  if (baseFiles.length === 0 || headFiles.length === 0) throw new BadInput("compare needs at least one file on each side");
  const baseResults = keyed(baseFiles);
  const headResults = keyed(headFiles);
  const notes = hostNotes([...baseFiles, ...headFiles]);
  const bl = sideLabel(baseFiles);
  const hl = sideLabel(headFiles);
  const matched = [...headResults.keys()].filter((k) => baseResults.has(k));
  if (matched.length === 0) {
    const list = (m: Map<string, KeyedSide>) => [...m.values()].map((s) => describeResult(s.result)).join("; ") || "no results";
    throw new BadInput(`${hl.file}: no result matches ${bl.file} by scenario, receiver and params (base has ${list(baseResults)}; head has ${list(headResults)})`);
  }
  for (const [key, r] of baseResults) if (!headResults.has(key)) notes.push(`only in ${bl.file}: ${describeResult(r.result)}`);
  for (const [key, r] of headResults) if (!baseResults.has(key)) notes.push(`only in ${hl.file}: ${describeResult(r.result)}`);

  const emulated = [...baseFiles, ...headFiles].some((f) => f.data.emulated === true);
  const hostProfile = opts.profile === undefined ? loadProfile(defaultProfilePath(), false) : opts.profile;
  const comparisons: Comparison[] = [];
  for (const key of matched) {
    const b = baseResults.get(key)!;
    const h = headResults.get(key)!;
    const metrics = [...new Set(opts.metrics.map((m) => (m === "headline" ? headlineMetric(b.result.scenario) : m)))];
    for (const metric of metrics) {
      const bv = sessionValues(b, metric, "base", opts.maxOtherBusy);
      const hv = sessionValues(h, metric, "head", opts.maxOtherBusy);
      const flat = (s: SessionValues[]) => s.flatMap((x) => x.values);
      const problems = [...bv.problems, ...hv.problems];
      const better = higherIsBetter(metric);
      let s: SampleComparison;
      let sessions: SessionFigures | null = null;
      let withheld = false;
      let badInput = false;
      const cNotes: string[] = [];
      const busyNote = opts.maxOtherBusy === undefined || problems.length ? null : leaveOutBusyRounds(bv.sessions, hv.sessions, opts.maxOtherBusy);
      if (busyNote) cNotes.push(busyNote);
      if (problems.length) {
        s = noVerdict(flat(bv.sessions), flat(hv.sessions), `unusable runs: ${problems.join("; ")}`);
        badInput = true;
      } else if (emulated && !opts.force) {
        // withheld, but named for the analysis --force would use
        const pairs = pairsOf(bv.sessions, hv.sessions);
        const why = "recorded under emulation (QEMU TCG): timings are not comparable to hardware (--force to compare anyway)";
        s = pairs ? { ...noVerdict(flat(bv.sessions), flat(hv.sessions), why, "paired"), pairs: pairs.base.length, correlation: null } : noVerdict(flat(bv.sessions), flat(hv.sessions), why);
      } else {
        const found = hostProfile ? findEntry(hostProfile, b.result.scenario, b.result.receiver, metric) : null;
        const profile =
          found && hostProfile
            ? { entry: found.entry, note: `between-session noise ${(Math.sqrt(found.entry.between) * 100).toFixed(2)} % from the host profile ${hostProfile.path} (${hostProfile.profile.createdAt.slice(0, 10)}, ${found.entry.sessions} sessions)${found.note ? `; ${found.note}` : ""}` }
            : null;
        const c = compareSessions(bv.sessions, hv.sessions, { higherIsBetter: better, targetPercent: opts.targetPercent, alpha: opts.alpha, power: opts.power, profile });
        ({ sessions, withheld } = c);
        cNotes.push(...c.notes);
        s = c;
        badInput = s.verdict === "no verdict" && !withheld;
      }
      if (emulated && opts.force) cNotes.push("emulated (QEMU TCG) results compared with --force: timings are not those of hardware");
      const { sessions: _s, withheld: _w, notes: _n, ...sample } = s as SampleComparison & { sessions?: unknown; withheld?: unknown; notes?: unknown };
      comparisons.push({
        scenario: b.result.scenario,
        receiver: b.result.receiver,
        params: b.result.params,
        metric,
        higherIsBetter: better,
        ...sample,
        base: { ...bl, kernel: commonKernel(baseFiles), emulated: baseFiles.some((f) => f.data.emulated === true), ...s.base },
        head: { ...hl, kernel: commonKernel(headFiles), emulated: headFiles.some((f) => f.data.emulated === true), ...s.head },
        sessions,
        withheld,
        badInput,
        notes: cNotes,
      });
    }
  }
  return { comparisons, notes };
}

/** The first file is the base; every further file is a head compared with it on its own. */
export function compareFiles(base: LoadedFile, heads: readonly LoadedFile[], opts: CompareOptions): CompareReport {
  if (heads.length === 0) throw new BadInput("compare needs a base file and at least one head file");
  const reports = heads.map((h) => compareSides([base], [h], opts));
  return { comparisons: reports.flatMap((r) => r.comparisons), notes: [...new Set(reports.flatMap((r) => r.notes))] };
}
