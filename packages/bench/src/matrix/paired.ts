// The comparison at the end of matrix --interleave: the first kernel is the base, each other kernel a
// head. The files share one interleaved session, so compare pairs their runs by round. A side with
// injected work is matched to the base although its params say injectPercent: that difference is
// the point of the validation, so it is taken out of the params for matching only. A run without a
// value (no packets got through: a starved guest) leaves its round out of the pairs, with a note,
// instead of voiding the session.
import { compareSides, type CompareReport } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import { headlineMetric, runValue, type MetricName } from "../compare/metric.js";
import type { ResultFile } from "../schema.js";
import type { Side } from "./interleave.js";

function forMatching(path: string, file: ResultFile, metric: MetricName, dropped: string[]): LoadedFile {
  const results = file.results.map((r) => {
    const { injectPercent: _, ...params } = r.params;
    const runs = r.runs.filter((run) => {
      const v = runValue(run, metric);
      if (typeof v !== "number") dropped.push(`${path} round ${run.round}: ${v}`);
      return typeof v === "number";
    });
    return { ...r, params, runs };
  });
  return { path, data: { ...file, results } };
}

export function pairedReport(sides: readonly Side[], files: readonly string[], opts: { force: boolean; targetPercent: number; maxOtherBusy?: number }): CompareReport {
  const [base, ...heads] = sides;
  const comparisons: CompareReport["comparisons"] = [];
  const notes = new Set<string>();
  const metrics = new Set<MetricName>([...base!.file!.results.map((r) => headlineMetric(r.scenario)), "cpuNsPerPacket"]);
  for (const [j, head] of heads.entries()) {
    const injected = [base!, head].filter((s) => s.injectPercent > 0).map((s) => `${s.kernel.release} ran with ${s.injectPercent} % injected per-packet work (a validation of the method)`);
    for (const metric of metrics) {
      const dropped: string[] = [];
      const b = forMatching(files[0]!, base!.file!, metric, dropped);
      const h = forMatching(files[j + 1]!, head.file!, metric, dropped);
      const r = compareSides([b], [h], { metrics: [metric], targetPercent: opts.targetPercent, force: opts.force, maxOtherBusy: opts.maxOtherBusy });
      const left = dropped.length ? [`left out of the pairs (no value): ${dropped.join("; ")}`] : [];
      comparisons.push(...r.comparisons.map((c) => ({ ...c, notes: [...injected, ...left, ...c.notes] })));
      for (const n of r.notes) notes.add(n);
    }
  }
  return { comparisons, notes: [...notes] };
}
