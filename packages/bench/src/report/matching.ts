// A folder of mixed results: each result (scenario, receiver, params) found in two or more files is
// compared, the first file that has it being the base; a result found in one file only is shown on
// its own. At a fixed --rate every receiver gets the same packets per second, so CPU time per packet
// is what can differ and what is compared.
import { compareFiles, type CompareReport } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import type { LoadedProfile } from "../compare/profile.js";
import { resultKey } from "../compare/match.js";
import { headlineMetric, type MetricName } from "../compare/metric.js";
import type { ScenarioResult } from "../schema.js";

export interface Alone {
  file: string;
  result: ScenarioResult;
}

export interface Matching {
  report: CompareReport;
  alone: Alone[];
}

/** The metric a result is judged by: CPU per packet when the send rate was fixed. */
export function reportMetric(r: Pick<ScenarioResult, "scenario" | "params">): MetricName {
  return r.scenario === "pps" && Number(r.params.rate) > 0 ? "cpuNsPerPacket" : headlineMetric(r.scenario);
}

function only(f: LoadedFile, key: string): LoadedFile {
  return { path: f.path, data: { ...f.data, results: f.data.results.filter((r) => resultKey(r) === key) } };
}

export function compareMatching(files: readonly LoadedFile[], opts: { targetPercent: number; force: boolean; profile: LoadedProfile | null }): Matching {
  const holders = new Map<string, { result: ScenarioResult; files: LoadedFile[] }>();
  for (const f of files) {
    for (const r of f.data.results) {
      const key = resultKey(r);
      const h = holders.get(key) ?? { result: r, files: [] };
      if (!h.files.includes(f)) h.files.push(f);
      holders.set(key, h);
    }
  }
  const comparisons: CompareReport["comparisons"] = [];
  const notes = new Set<string>();
  const alone: Alone[] = [];
  for (const [key, h] of holders) {
    if (h.files.length < 2) {
      alone.push({ file: h.files[0]!.path, result: h.result });
      continue;
    }
    const [base, ...heads] = h.files;
    for (const head of heads) {
      const r = compareFiles(only(base!, key), [only(head, key)], { metrics: [reportMetric(h.result)], targetPercent: opts.targetPercent, force: opts.force, profile: opts.profile });
      comparisons.push(...r.comparisons);
      for (const n of r.notes) notes.add(n);
    }
  }
  return { report: { comparisons, notes: [...notes] }, alone };
}
