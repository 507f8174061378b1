// The comparison at the end of matrix --interleave: the first kernel is the base, each other kernel a
// head; runs are paired by round (compare/samples' paired analysis). A side with injected work is
// matched to the base although its params say injectPercent: that difference is the point.
import type { CompareReport, Comparison } from "../compare/files.js";
import { resultKey } from "../compare/match.js";
import { headlineMetric, higherIsBetter, runValue, type MetricName } from "../compare/metric.js";
import { comparePairedSamples, noVerdict } from "../compare/samples.js";
import type { ScenarioResult } from "../schema.js";
import type { Side } from "./interleave.js";

const EMULATED = "recorded under emulation (QEMU TCG): timings are not comparable to hardware (--force to compare anyway)";

function keyWithoutInject(r: ScenarioResult): string {
  const { injectPercent: _, ...params } = r.params;
  return resultKey({ ...r, params });
}

/** Values of both sides in the rounds where both have one, in round order. */
export function alignByRound(base: ScenarioResult, head: ScenarioResult, metric: MetricName): { base: number[]; head: number[]; dropped: number } {
  const byRound = (r: ScenarioResult): Map<number, number> => {
    const m = new Map<number, number>();
    for (const run of r.runs) {
      const v = run === null || typeof run !== "object" ? null : runValue(run, metric);
      if (typeof v === "number" && Number.isInteger(run.round)) m.set(run.round, v);
    }
    return m;
  };
  const [b, h] = [byRound(base), byRound(head)];
  const rounds = [...b.keys()].filter((k) => h.has(k)).sort((x, y) => x - y);
  return { base: rounds.map((k) => b.get(k)!), head: rounds.map((k) => h.get(k)!), dropped: Math.max(b.size, h.size) - rounds.length };
}

export function pairedReport(sides: readonly Side[], files: readonly string[], opts: { emulated: boolean; force: boolean; targetPercent: number }): CompareReport {
  const [base, ...heads] = sides;
  const comparisons: Comparison[] = [];
  const notes: string[] = [];
  const emulated = opts.emulated;
  for (const [j, head] of heads.entries()) {
    const headResults = new Map(head.file!.results.map((r) => [keyWithoutInject(r), r]));
    for (const b of base!.file!.results) {
      const h = headResults.get(keyWithoutInject(b));
      if (!h) {
        notes.push(`only in ${files[0]}: ${b.scenario} ${b.receiver}`);
        continue;
      }
      for (const metric of [...new Set<MetricName>([headlineMetric(b.scenario), "cpuNsPerPacket"])]) {
        const a = alignByRound(b, h, metric);
        if (a.base.length === 0) continue;
        const s =
          emulated && !opts.force
            ? noVerdict(a.base, a.head, EMULATED, "paired")
            : comparePairedSamples(a.base, a.head, { higherIsBetter: higherIsBetter(metric), targetPercent: opts.targetPercent });
        const side = (x: Side, file: string) => ({ file, kernel: x.kernel.release, emulated });
        const sideNotes = [
          ...(head.injectPercent > 0 ? [`${head.kernel.release} ran with ${head.injectPercent} % injected per-packet work (a validation of the method)`] : []),
          ...(base!.injectPercent > 0 ? [`${base!.kernel.release} ran with ${base!.injectPercent} % injected per-packet work (a validation of the method)`] : []),
          ...(a.dropped > 0 ? [`${a.dropped} round(s) without a value on both sides left out of the pairs`] : []),
          ...(emulated && opts.force ? ["emulated (QEMU TCG) results compared with --force: timings are not those of hardware"] : []),
        ];
        comparisons.push({
          scenario: b.scenario,
          receiver: b.receiver,
          params: b.params,
          metric,
          higherIsBetter: higherIsBetter(metric),
          ...s,
          base: { ...side(base!, files[0]!), ...s.base },
          head: { ...side(head, files[j + 1]!), ...s.head },
          badInput: false,
          notes: sideNotes,
        });
      }
    }
  }
  return { comparisons, notes };
}
