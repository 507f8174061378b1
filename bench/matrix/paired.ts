// The comparison at the end of matrix --interleave: the first kernel is the base, each other kernel a
// head. The files share one interleaved session, so compare pairs their runs by round. A side with
// injected work is matched to the base although its params say injectPercent: that difference is
// the point of the validation, so it is taken out of the params for matching only.
import { compareSides, type CompareReport } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import type { ResultFile } from "../schema.js";
import type { Side } from "./interleave.js";

function forMatching(path: string, file: ResultFile): LoadedFile {
  const results = file.results.map((r) => {
    const { injectPercent: _, ...params } = r.params;
    return { ...r, params };
  });
  return { path, data: { ...file, results } };
}

export function pairedReport(sides: readonly Side[], files: readonly string[], opts: { force: boolean; targetPercent: number }): CompareReport {
  const [base, ...heads] = sides;
  const comparisons: CompareReport["comparisons"] = [];
  const notes = new Set<string>();
  for (const [j, head] of heads.entries()) {
    const r = compareSides([forMatching(files[0]!, base!.file!)], [forMatching(files[j + 1]!, head.file!)], {
      metrics: ["headline", "cpuNsPerPacket"],
      targetPercent: opts.targetPercent,
      force: opts.force,
    });
    const injected = [base!, head].filter((s) => s.injectPercent > 0).map((s) => `${s.kernel.release} ran with ${s.injectPercent} % injected per-packet work (a validation of the method)`);
    comparisons.push(...r.comparisons.map((c) => ({ ...c, notes: [...injected, ...c.notes] })));
    for (const n of r.notes) notes.add(n);
  }
  return { comparisons, notes: [...notes] };
}
