// `--markdown file` and $GITHUB_STEP_SUMMARY: one table row per comparison, then notes and the gate.
import type { CompareReport, Comparison } from "./files.js";
import { pValue, pct, resolutionSentence, value, verdictSentence } from "./format.js";
import { sideLabels } from "./labels.js";
import { analysisLine, gateLine } from "./text.js";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function sideCell(c: Comparison, which: "base" | "head"): string {
  const s = c[which];
  return `${value(c.metric, s.median)} (CV ${s.cv === null ? "–" : `${pct(s.cv * 100)} %`}, n=${s.runs})`;
}

function row(c: Comparison): string {
  const labels = sideLabels(c);
  const params = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(" ");
  const ratio = c.ratio === null || c.ci === null ? "–" : `${c.ratio.toFixed(4)} (${c.ci[0].toFixed(4)}–${c.ci[1].toFixed(4)})`;
  const mark = c.verdict === "faster" ? "🟢 " : c.verdict === "slower" ? "🔴 " : "";
  const cells = [
    c.scenario,
    c.receiver,
    params,
    c.metric,
    sideCell(c, "base"),
    sideCell(c, "head"),
    ratio,
    pValue(c.pValue),
    analysisLine(c),
    `${mark}${verdictSentence(c, labels.head, labels.base)}`,
    resolutionSentence(c) ?? "–",
  ];
  return `| ${cells.map(cell).join(" | ")} |`;
}

export function reportMarkdown(report: CompareReport, thresholdPercent?: number): string {
  const c0 = report.comparisons[0];
  const title = c0 ? `base \`${c0.base.file}\`${c0.base.kernel ? ` (${c0.base.kernel})` : ""}` : "";
  const lines = [
    "## ringpoll compare",
    "",
    title,
    "",
    "| scenario | receiver | params | metric | base median | head median | ratio head/base (95 % CI) | p | analysis | verdict | resolution |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...report.comparisons.map(row),
  ];
  const notes = [...report.notes, ...report.comparisons.flatMap((c) => c.notes)];
  if (notes.length) lines.push("", ...[...new Set(notes)].map((n) => `- ${n}`));
  if (thresholdPercent !== undefined) lines.push("", `**${gateLine(report, thresholdPercent)}**`);
  return `${lines.join("\n")}\n`;
}
