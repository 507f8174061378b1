// `ringpoll report`: result files → one self-contained HTML page.
import type { LoadedFile } from "../compare/input.js";
import type { LoadedProfile } from "../compare/profile.js";
import { commonParams, groups, ratioRows } from "./data.js";
import { page, type Figure } from "./html.js";
import { fileLabels } from "./labels.js";
import { compareMatching } from "./matching.js";
import { renderSvg } from "./render.js";
import { mediansSpec, ratiosSpec, seriesSpec } from "./specs.js";

export interface ReportOptions {
  title: string;
  targetPercent: number;
  force: boolean;
  /** the host's between-session noise, for files recorded apart */
  profile?: LoadedProfile | null;
  now?: Date;
  /** said on the page: skipped folder entries, streamed files */
  notes?: string[];
}

export async function buildReport(files: readonly LoadedFile[], opts: ReportOptions): Promise<string> {
  const labels = fileLabels(files);
  const { report, alone } = compareMatching(files, { targetPercent: opts.targetPercent, force: opts.force, profile: opts.profile ?? null });
  const figures: Figure[] = [];
  const gs = groups(files, labels);
  for (const [i, g] of gs.entries()) {
    if (g.medians.length) {
      figures.push({ id: `medians-${i}`, caption: `Median ${g.metric} per kernel and receiver, ${g.name}.`, svg: await renderSvg(mediansSpec(g)) });
    }
  }
  const ratios = ratioRows(report.comparisons, labels);
  if (ratios.length) figures.push({ id: "ratios", caption: "Ratio head/base per comparison with its 95 % CI.", svg: await renderSvg(ratiosSpec(ratios, commonParams(report.comparisons))) });
  for (const [i, g] of gs.entries()) {
    if (!g.series.length) continue;
    const what = g.metric === "cpuNsPerPacket" ? `CPU ns per packet of every run` : `Per-second ${g.metric} of every run`;
    const thinned = g.thinnedBy ? ` Every ${g.thinnedBy}th point drawn (too many to draw all).` : "";
    figures.push({ id: `series-${i}`, caption: `${what}, ${g.name}.${thinned}`, svg: await renderSvg(seriesSpec(g)) });
  }
  return page({ title: opts.title, generated: (opts.now ?? new Date()).toISOString(), files, labels, figures, report, alone, notes: opts.notes ?? [] });
}
