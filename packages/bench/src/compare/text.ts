// The terminal report of `ringpoll compare`.
import type { CompareReport, Comparison } from "./files.js";
import { describeResult } from "./match.js";
import { pValue, pct, resolutionSentence, value, verdictSentence } from "./format.js";
import { failsGate } from "./gate.js";
import { sideLabels } from "./labels.js";

function side(c: Comparison, which: "base" | "head", label: string, width: number): string {
  const s = c[which];
  const cv = s.cv === null ? "–" : `${pct(s.cv * 100)} %`;
  return `  ${which}  ${label.padEnd(width)}  median ${value(c.metric, s.median).padEnd(10)} CV ${cv.padEnd(7)} runs ${s.runs}`;
}

/** Which analysis the comparison used and on what, in words. */
export function analysisLine(c: Comparison): string {
  const s = c.sessions;
  const parts: string[] = [];
  if (s?.withinPercent != null) parts.push(`noise within a session ${pct(s.withinPercent)} %`);
  if (s?.betweenPercent != null) parts.push(`between sessions ${pct(s.betweenPercent)} %`);
  else if (s && c.analysis === "sessions") parts.push("between sessions not measurable from one session per side");
  const noise = parts.length ? `; ${parts.join(", ")}` : "";
  switch (c.analysis) {
    case "paired":
      return `paired by round (${c.pairs} rounds of one interleaved session${c.correlation == null ? "" : `, correlation ${c.correlation.toFixed(2)}`})`;
    case "unpaired":
      return `unpaired runs (Welch on logs)${s && s.base === 1 && s.head === 1 ? ", one session" : ""}${noise}`;
    case "sessions":
      return `${s ? `${s.base} vs ${s.head} sessions` : "sessions"}${c.verdict === "no verdict" ? "" : ", Welch on session means"}${noise}`;
    case "profile":
      return `${s ? `${s.base} vs ${s.head} sessions` : "sessions"} with the between-session noise of the host's profile (ringpoll calibrate)${noise}`;
  }
}

export function comparisonText(c: Comparison): string {
  const labels = sideLabels(c);
  const width = Math.max(labels.base.length, labels.head.length);
  const lines = [`${describeResult(c)} — ${c.metric}${c.higherIsBetter ? "" : " (lower is better)"}`, side(c, "base", labels.base, width), side(c, "head", labels.head, width)];
  lines.push(`  analysis: ${analysisLine(c)}`);
  if (c.ratio !== null && c.ci !== null) {
    const rank = c.crossCheck ? `  (${c.crossCheck.method === "mann-whitney" ? "Mann-Whitney" : "Wilcoxon signed-rank"} p ${pValue(c.crossCheck.pValue)})` : "";
    lines.push(`  ratio head/base ${c.ratio.toFixed(4)} (95 % CI ${c.ci[0].toFixed(4)}–${c.ci[1].toFixed(4)})  p ${pValue(c.pValue)}${rank}`);
  }
  lines.push(`  → ${verdictSentence(c, labels.head, labels.base)}`);
  const resolution = resolutionSentence(c);
  if (resolution) lines.push(`  ${resolution}`);
  if (c.crossCheck && !c.crossCheck.agrees) {
    lines.push(
      c.crossCheck.attainable
        ? `  note: the rank test disagrees (p ${pValue(c.crossCheck.pValue)}): look for outlying runs`
        : "  note: too few runs for the rank test to confirm anything (needs 4+ per side)",
    );
  }
  for (const side of ["base", "head"] as const) {
    const idx = c.outliers?.[side] ?? [];
    if (idx.length) lines.push(`  note: ${side} run${idx.length > 1 ? "s" : ""} ${idx.join(", ")} far from the others (> 3.5 robust SD): they widen the CI; usually a host event (load, drops)`);
  }
  for (const n of c.notes) lines.push(`  note: ${n}`);
  return lines.join("\n");
}

export function reportText(report: CompareReport, thresholdPercent?: number): string {
  const parts = report.comparisons.map(comparisonText);
  if (report.notes.length) parts.push(report.notes.map((n) => `note: ${n}`).join("\n"));
  if (thresholdPercent !== undefined) parts.push(gateLine(report, thresholdPercent));
  return parts.join("\n\n");
}

export function gateLine(report: CompareReport, thresholdPercent: number): string {
  const failing = report.comparisons.filter((c) => failsGate(c, thresholdPercent));
  const withheld = report.comparisons.filter((c) => c.withheld);
  if (failing.length === 0 && withheld.length) return `gate: NO VERDICT — one session per side and no noise profile for ${withheld.map((c) => `${describeResult(c)} ${c.metric}`).join(", ")} (record ≥ 3 sessions per side or run ringpoll calibrate)`;
  if (failing.length === 0) return `gate: pass (no significant regression beyond ${thresholdPercent} %)`;
  return `gate: FAIL — significant regression beyond ${thresholdPercent} % in ${failing.map((c) => `${describeResult(c)} ${c.metric} (${pct(c.regressionPercent!)} %)`).join(", ")}`;
}
