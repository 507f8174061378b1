// The validate:stats summary as markdown (printed, written to summary.md, pasted in docs/statistics.md).
import type { MetricFigures } from "./analyse.js";

export interface SummaryInput {
  date: string;
  machine: { kernel: string; cpu: string; nproc: number; governor: string | null; loadavgBefore: number; loadavgAfter: number };
  command: string;
  receiver: string;
  duration: number;
  warmup: number;
  roundsPerTrial: number;
  rounds: number;
  seconds: number;
  receiverBusy: number;
  baseWork: number;
  /** injected percent → ns per packet */
  injectNs: Record<string, number>;
  target: number;
  figures: MetricFigures[];
}

const pct = (x: number | null, d = 1) => (x === null ? "–" : `${x.toFixed(d)} %`);
const rate = (r: MetricFigures["falseAlarms"]) => `${r.hits}/${r.trials} (${(r.rate * 100).toFixed(0)} %, CI ${(r.ci[0] * 100).toFixed(0)}–${(r.ci[1] * 100).toFixed(0)} %)`;
const ratio = (d: MetricFigures["detection"][number]) =>
  d.measuredRatio === null || d.ci === null ? "–" : `${d.medianRatio!.toFixed(3)}; ${d.measuredRatio.toFixed(3)} (${d.ci[0].toFixed(3)}–${d.ci[1].toFixed(3)})`;

export function renderSummary(s: SummaryInput): string {
  const inject = s.figures[0]?.detection.map((d) => d.percent) ?? [];
  const m = s.machine;
  const unusable = s.figures.filter((f) => f.unusableRuns > 0).map((f) => `${f.unusableRuns} runs without a positive ${f.metric}`);
  return [
    `### validate:stats, ${s.date.slice(0, 10)}`,
    "",
    `- Machine: ${m.cpu}, ${m.nproc} vCPUs, kernel ${m.kernel}, governor ${m.governor ?? "not exposed"}; load average ${m.loadavgBefore.toFixed(2)} before, ${m.loadavgAfter.toFixed(2)} after.`,
    `- Workload: pps over loopback, receiver \`${s.receiver}\`, 8 flows, 64-byte payloads, ${s.duration} s windows (+${s.warmup} s warm-up); ${s.rounds} interleaved rounds in ${s.seconds.toFixed(0)} s; each trial compares ${s.roundsPerTrial} runs per side.`,
    `- Receiver busy (median over A's runs): ${s.receiverBusy.toFixed(2)} of a core${s.receiverBusy < 0.9 ? " — not saturated: PPS follows the sender, and extra receiver work partly hides in larger batches per wake-up" : ""}.`,
    ...(s.baseWork ? [`- Base work on every side: ${s.baseWork} ns per packet (makes the receiver the bottleneck).`] : []),
    `- Injected work per packet: ${Object.entries(s.injectNs).sort(([a], [b]) => Number(a) - Number(b)).map(([p, ns]) => `${p} % = ${ns.toFixed(1)} ns`).join(", ")}.`,
    ...(unusable.length ? [`- Left out: ${unusable.join("; ")}.`] : []),
    `- Command: \`${s.command}\``,
    "",
    `| metric | A/A false alarms | ${inject.map((p) => `detects +${p} % work`).join(" | ")} | MDE at ${s.roundsPerTrial} runs/side (median) | MDE at ${s.rounds} runs/side | runs/side for ${s.target} % | median CV |`,
    `|---|---|${inject.map(() => "---").join("|")}|---|---|---|---|`,
    ...s.figures.map(
      (f) =>
        `| ${f.metric} | ${rate(f.falseAlarms)} | ${f.detection.map((d) => `${rate(d.detected)}${d.wrongWay ? `, ${d.wrongWay} wrong way` : ""}`).join(" | ")} | ${pct(f.mdePerTrial)} | ${pct(f.mdePooled, 2)} | ${f.runsForTarget ?? "> 100000"} | ${pct(f.medianCv === null ? null : f.medianCv * 100)} |`,
    ),
    "",
    `Effect actually produced, all ${s.rounds} rounds pooled: ratio of medians injected/A; geometric-mean ratio (95 % CI):`,
    "",
    `| metric | ${inject.map((p) => `+${p} %`).join(" | ")} |`,
    `|---|${inject.map(() => "---").join("|")}|`,
    ...s.figures.map((f) => `| ${f.metric} | ${f.detection.map(ratio).join(" | ")} |`),
    "",
  ].join("\n");
}
