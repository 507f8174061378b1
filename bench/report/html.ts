// The self-contained report page: inline SVG charts, tables, no script, no external resource.
import type { CompareReport } from "../compare/files.js";
import type { LoadedFile } from "../compare/input.js";
import { describeResult } from "../compare/match.js";
import { pValue, resolutionSentence, value, verdictSentence } from "../compare/format.js";

export function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface Figure {
  id: string;
  caption: string;
  svg: string;
}

function filesTable(files: readonly LoadedFile[], labels: Map<string, string>): string {
  const rows = files.map((f) => {
    const env = f.data.env as { cpu?: { modelName?: string }; warnings?: string[] };
    const warnings = env.warnings?.length ? env.warnings.map(esc).join("<br>") : "–";
    return `<tr><td>${esc(labels.get(f.path)!)}</td><td><code>${esc(f.path)}</code></td><td>${esc(f.data.createdAt ?? "")}</td><td>${esc(env.cpu?.modelName ?? "–")}</td><td>${f.data.emulated ? "yes (QEMU TCG)" : "no"}</td><td>${warnings}</td></tr>`;
  });
  return `<table><thead><tr><th>label</th><th>file</th><th>recorded</th><th>CPU</th><th>emulated</th><th>host warnings</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function compareTable(report: CompareReport, labels: Map<string, string>): string {
  if (!report.comparisons.length) return "<p>Only one result file: nothing to compare.</p>";
  const rows = report.comparisons.map((c) => {
    const [b, h] = [labels.get(c.base.file)!, labels.get(c.head.file)!];
    const ratio = c.ratio === null || c.ci === null ? "–" : `${c.ratio.toFixed(4)} (${c.ci[0].toFixed(4)}–${c.ci[1].toFixed(4)})`;
    return `<tr class="${c.verdict.replace(/ /g, "-")}"><td>${esc(describeResult(c))}</td><td>${c.metric}</td><td>${esc(`${b}: ${value(c.metric, c.base.median)}, n=${c.base.runs}`)}</td><td>${esc(`${h}: ${value(c.metric, c.head.median)}, n=${c.head.runs}`)}</td><td>${ratio}</td><td>${pValue(c.pValue)}</td><td>${esc(verdictSentence(c, h, b))}</td><td>${esc(resolutionSentence(c) ?? "–")}</td></tr>`;
  });
  return `<table><thead><tr><th>result</th><th>metric</th><th>base median</th><th>head median</th><th>ratio (95 % CI)</th><th>p</th><th>verdict</th><th>resolution</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr.faster td:nth-child(7){color:#1d7a30}tr.slower td:nth-child(7){color:#b3261e}
figure{margin:1.5rem 0}figcaption{color:#555;font-size:13px}svg{max-width:100%;height:auto}code{font-size:12px}`;

export function page(opts: { title: string; generated: string; files: readonly LoadedFile[]; labels: Map<string, string>; figures: Figure[]; report: CompareReport }): string {
  const figures = opts.figures.map((f) => `<figure id="${esc(f.id)}" class="chart">${f.svg}<figcaption>${esc(f.caption)}</figcaption></figure>`).join("\n");
  const notes = opts.report.notes.length ? `<ul>${opts.report.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
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
<p>Generated ${esc(opts.generated)} by <code>ringpoll report</code>. Comparisons take the first file as the base (Welch's t-test on log values; see docs/statistics.md).</p>
<h2>Result files</h2>
${filesTable(opts.files, opts.labels)}
<h2>Comparisons</h2>
${compareTable(opts.report, opts.labels)}
${notes}
<h2>Charts</h2>
${figures}
</body>
</html>
`;
}
