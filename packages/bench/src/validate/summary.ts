// The validate:stats summary as markdown (printed, written to summary.md, pasted in docs/statistics.md).
import type { MetricFigures, Rate, Summary } from "./analyse.js";

const pct = (x: number | null, d = 1) => (x === null ? "–" : `${x.toFixed(d)} %`);
const rate = (r: Rate) => `${r.hits}/${r.trials} (${(r.rate * 100).toFixed(0)} %, CI ${(r.ci[0] * 100).toFixed(0)}–${(r.ci[1] * 100).toFixed(0)} %)`;

function withinRows(f: MetricFigures, s: Summary): string[] {
  return f.within.map((w) => {
    // MDE shrinks with √rounds (the t quantiles change little at these sizes)
    const projected = w.mde === null ? null : w.mde * Math.sqrt(s.rounds / s.abRoundsIn3Min);
    return `| ${f.metric} | ${w.analysis} | ${rate(w.falseAlarms)} | ${w.detection.map((d) => `${rate(d.detected)}${d.wrongWay ? `, ${d.wrongWay} wrong way` : ""}`).join(" | ")} | ${pct(w.mde, 2)} | ${pct(projected, 2)} | ${w.runsForTarget ?? "> 100000"} |`;
  });
}

export function renderSummary(s: Summary): string {
  const inject = s.figures[0]?.produced.map((p) => p.percent) ?? [];
  const across = s.figures.filter((f) => f.across);
  const unusable = s.figures.filter((f) => f.unusableRuns > 0).map((f) => `${f.unusableRuns} runs without a positive ${f.metric}`);
  return [
    `### validate:stats, ${s.firstStarted.slice(0, 16).replace("T", " ")} – ${s.lastStarted.slice(11, 16)} UTC`,
    "",
    `- Machine: ${s.cpu ?? "CPU unknown"}, ${s.nproc ?? "?"} vCPUs, kernel ${s.kernel ?? "unknown"}.`,
    `- ${s.sessions} sessions of ${s.rounds} rounds; each round runs A, A′ (the same configuration) and ${inject.map((p) => `+${p} %`).join(", ")} once, order rotated by round; ${s.duration ?? "?"} s windows; a session took ${s.sessionSeconds.toFixed(0)} s (${s.runSeconds.toFixed(2)} s per run with warm-up and set-up), so a 3-minute two-sided \`ab\` would run about ${s.abRoundsIn3Min} rounds.`,
    ...(unusable.length ? [`- Left out: ${unusable.join("; ")}.`] : []),
    `- Re-analyse: \`npm run validate:stats -- --from ${s.dir}\``,
    "",
    "#### Within a session: paired and unpaired on the same runs",
    "",
    `| metric | analysis | A/A false alarms | ${inject.map((p) => `detects +${p} %`).join(" | ")} | MDE at ${s.rounds} rounds (median) | MDE projected to ${s.abRoundsIn3Min} rounds (3 min) | rounds/runs for ${s.target} % |`,
    `|---|---|---|${inject.map(() => "---").join("|")}|---|---|---|`,
    ...s.figures.flatMap((f) => withinRows(f, s)),
    "",
    `Correlation of A and A′ over the rounds of a session (median): ${s.figures.map((f) => `${f.metric} ${f.correlation === null ? "–" : f.correlation.toFixed(2)}`).join(", ")}.`,
    "",
    "Effect the injections produced, every session's rounds pooled and paired (ratio injected/A, 95 % CI; median work per packet):",
    "",
    `| metric | ${inject.map((p) => `+${p} %`).join(" | ")} |`,
    `|---|${inject.map(() => "---").join("|")}|`,
    ...s.figures.map((f) => `| ${f.metric} | ${f.produced.map((p) => (p.ratio === null || p.ci === null ? "–" : `${p.ratio.toFixed(4)} (${p.ci[0].toFixed(4)}–${p.ci[1].toFixed(4)}); ${p.medianNs.toFixed(0)} ns`)).join(" | ")} |`),
    "",
    "#### Across sessions: A of one session against A of another",
    "",
    `| metric | noise within a session | between sessions | 1 vs 1, runs taken as independent | 1 vs 1 with the between-session noise of the other sessions | its MDE | sessions/side for ${s.target} % | 3 vs 3 sessions, A/A | ${inject.map((p) => `3 vs 3 detects +${p} %`).join(" | ")} | 3 vs 3 MDE |`,
    `|---|---|---|---|---|---|---|---|${inject.map(() => "---").join("|")}|---|`,
    ...across.map((f) => {
      const a = f.across!;
      return `| ${f.metric} | ${pct(a.withinPercent, 2)} | ${pct(a.betweenPercent, 2)} | ${rate(a.naive)} | ${rate(a.profile)} | ${pct(a.profileMde)} | ${a.sessionsForTarget ?? "> 100000"} | ${rate(a.three.falseAlarms)} | ${a.three.detection.map((d) => rate(d.detected)).join(" | ")} | ${pct(a.three.mde)} |`;
    }),
    "",
    "1 vs 1: every pair of sessions (pairs share sessions, so they are not independent trials). 3 vs 3: random draws of six different sessions (the injected side's three sessions are not the base's).",
    "",
  ].join("\n");
}
