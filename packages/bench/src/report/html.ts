// The self-contained report page: inline SVG charts, tables, no script, no external resource.
import type { CompareReport } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import { resultValues } from "../compare/metric.js";
import type { Alone } from "./matching.js";
import { reportMetric } from "./matching.js";
import { describeResult } from "../compare/match.js";
import { pValue, resolutionSentence, value, verdictSentence } from "../compare/format.js";
import { analysisLine } from "../compare/text.js";

export function esc(value: unknown): string {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface Figure {
  id: string;
  caption: string;
  svg: string;
}

function filesTable(files: readonly LoadedFile[], labels: Map<string, string>): string {
  const rows = files.map((f) => {
    const env = f.data.env as { cpu?: { modelName?: unknown } | null; warnings?: string[] };
    const warnings = env.warnings?.length ? env.warnings.map(esc).join("<br>") : "–";
    return `<tr><td>${esc(labels.get(f.path)!)}</td><td><code>${esc(f.path)}</code></td><td>${esc(f.data.createdAt ?? "")}</td><td>${esc(env.cpu?.modelName ?? "–")}</td><td>${f.data.emulated ? "yes (QEMU TCG)" : "no"}</td><td>${warnings}</td></tr>`;
  });
  return `<table><thead><tr><th>label</th><th>file</th><th>recorded</th><th>CPU</th><th>emulated</th><th>host warnings</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function compareTable(report: CompareReport, labels: Map<string, string>): string {
  if (!report.comparisons.length) return "<p>No result appears in more than one file: nothing to compare.</p>";
  const rows = report.comparisons.map((c) => {
    const [b, h] = [labels.get(c.base.file)!, labels.get(c.head.file)!];
    const ratio = c.ratio === null || c.ci === null ? "–" : `${c.ratio.toFixed(4)} (${c.ci[0].toFixed(4)}–${c.ci[1].toFixed(4)})`;
    return `<tr class="${c.verdict.replace(/ /g, "-")}"><td>${esc(describeResult(c))}</td><td>${esc(c.metric)}</td><td>${esc(`${b}: ${value(c.metric, c.base.median)}, n=${c.base.runs}`)}</td><td>${esc(`${h}: ${value(c.metric, c.head.median)}, n=${c.head.runs}`)}</td><td>${ratio}</td><td>${pValue(c.pValue)}</td><td>${esc(analysisLine(c))}</td><td>${esc(verdictSentence(c, h, b))}</td><td>${esc(resolutionSentence(c) ?? "–")}</td></tr>`;
  });
  return `<table><thead><tr><th>result</th><th>metric</th><th>base median</th><th>head median</th><th>ratio (95 % CI)</th><th>p</th><th>analysis</th><th>verdict</th><th>resolution</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function aloneTable(alone: readonly Alone[], labels: Map<string, string>): string {
  if (!alone.length) return "";
  const rows = alone.map(({ file, result }) => {
    const metric = reportMetric(result);
    const { values } = resultValues(result, metric);
    const median = values.length ? value(metric, values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!) : "–";
    return `<tr><td>${esc(labels.get(file))}</td><td>${esc(describeResult(result))}</td><td>${esc(metric)}</td><td>${esc(median)}</td><td>${values.length}</td></tr>`;
  });
  return `<h2>Shown on their own</h2>
<p>No other file has these results (same scenario, receiver and params), so there is nothing to compare them with.</p>
<table><thead><tr><th>file</th><th>result</th><th>metric</th><th>median</th><th>runs</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr.faster td:nth-child(8){color:#1d7a30}tr.slower td:nth-child(8){color:#b3261e}
figure{margin:1.5rem 0}figcaption{color:#555;font-size:13px}svg{max-width:100%;height:auto}code{font-size:12px}`;

export interface PageParts {
  title: string;
  generated: string;
  files: readonly LoadedFile[];
  labels: Map<string, string>;
  figures: Figure[];
  report: CompareReport;
  alone: readonly Alone[];
  notes: readonly string[];
}

export function page(opts: PageParts): string {
  const figures = opts.figures.map((f) => `<figure id="${esc(f.id)}" class="chart">${f.svg}<figcaption>${esc(f.caption)}</figcaption></figure>`).join("\n");
  const all = [...opts.notes, ...opts.report.notes];
  const notes = all.length ? `<ul>${all.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(opts.title)}</h1>
<p>Generated ${esc(opts.generated)} by <code>ringpoll report</code>. A result found in several files is compared, the first file that has it being the base (see docs/statistics.md for the analysis); at a fixed send rate the figure compared is CPU time per packet.</p>
<h2>Result files</h2>
${filesTable(opts.files, opts.labels)}
<h2>Comparisons</h2>
${compareTable(opts.report, opts.labels)}
${notes}
${aloneTable(opts.alone, opts.labels)}
<h2>Charts</h2>
${figures}
</body>
</html>
`;
}
