// compare: the first file is the base, every further file a head compared with it.
import type { ScenarioResult } from "../schema.js";
import { BadInput, type LoadedFile } from "./input.js";
import { byKey, describeResult } from "./match.js";
import { headlineMetric, higherIsBetter, resultValues, type MetricName } from "./metric.js";
import { compareSamples, noVerdict, type SampleComparison, type SideStats } from "./samples.js";

export interface CompareOptions {
  /** "headline" = pps / tps / iops by scenario */
  metrics: (MetricName | "headline")[];
  targetPercent: number;
  /** compare results recorded under emulation anyway */
  force: boolean;
  alpha?: number;
  power?: number;
}

export interface FileSide extends SideStats {
  file: string;
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

function cpuOf(f: LoadedFile): string | null {
  const cpu = (f.data.env as { cpu?: { modelName?: unknown } } | undefined)?.cpu;
  return typeof cpu?.modelName === "string" ? cpu.modelName : null;
}

function hostNotes(base: LoadedFile, head: LoadedFile): string[] {
  const notes: string[] = [];
  const [cb, ch] = [cpuOf(base), cpuOf(head)];
  if (cb && ch && cb !== ch) notes.push(`${base.path} and ${head.path} ran on different CPUs (${cb} vs ${ch}): the ratio mixes kernel and hardware`);
  for (const f of [base, head]) {
    const warnings = (f.data.env as { warnings?: unknown } | undefined)?.warnings;
    if (Array.isArray(warnings) && warnings.length) notes.push(`${f.path} host warnings: ${warnings.join("; ")}`);
  }
  return notes;
}

export function compareFiles(base: LoadedFile, heads: readonly LoadedFile[], opts: CompareOptions): CompareReport {
  if (heads.length === 0) throw new BadInput("compare needs a base file and at least one head file");
  const baseResults = byKey(base.data.results);
  const comparisons: Comparison[] = [];
  const notes: string[] = [];
  for (const head of heads) {
    notes.push(...hostNotes(base, head));
    const headResults = byKey(head.data.results);
    const matched = [...headResults.keys()].filter((k) => baseResults.has(k));
    if (matched.length === 0) {
      const list = (m: Map<string, ScenarioResult>) => [...m.values()].map(describeResult).join("; ") || "no results";
      throw new BadInput(
        `${head.path}: no result matches ${base.path} by scenario, receiver and params (base has ${list(baseResults)}; head has ${list(headResults)})`,
      );
    }
    for (const [key, r] of baseResults) if (!headResults.has(key)) notes.push(`only in ${base.path}: ${describeResult(r)}`);
    for (const [key, r] of headResults) if (!baseResults.has(key)) notes.push(`only in ${head.path}: ${describeResult(r)}`);

    const emulated = base.data.emulated === true || head.data.emulated === true;
    for (const key of matched) {
      const b = baseResults.get(key)!;
      const h = headResults.get(key)!;
      const metrics = [...new Set(opts.metrics.map((m) => (m === "headline" ? headlineMetric(b.scenario) : m)))];
      for (const metric of metrics) {
        const bv = resultValues(b, metric);
        const hv = resultValues(h, metric);
        const problems = [...bv.problems.map((p) => `base ${p}`), ...hv.problems.map((p) => `head ${p}`)];
        let s: SampleComparison;
        let badInput = false;
        if (problems.length) {
          s = noVerdict(bv.values, hv.values, `unusable runs: ${problems.join("; ")}`);
          badInput = true;
        } else if (emulated && !opts.force) {
          s = noVerdict(bv.values, hv.values, "recorded under emulation (QEMU TCG): timings are not comparable to hardware (--force to compare anyway)");
        } else {
          const better = higherIsBetter(metric);
          s = compareSamples(bv.values, hv.values, { higherIsBetter: better, targetPercent: opts.targetPercent, alpha: opts.alpha, power: opts.power });
          badInput = s.verdict === "no verdict";
        }
        comparisons.push({
          scenario: b.scenario,
          receiver: b.receiver,
          params: b.params,
          metric,
          higherIsBetter: higherIsBetter(metric),
          ...s,
          base: { file: base.path, kernel: kernelOf(base), emulated: base.data.emulated === true, ...s.base },
          head: { file: head.path, kernel: kernelOf(head), emulated: head.data.emulated === true, ...s.head },
          badInput,
          notes: emulated && opts.force ? ["emulated (QEMU TCG) results compared with --force: timings are not those of hardware"] : [],
        });
      }
    }
  }
  return { comparisons, notes };
}
