// npm run validate:stats — does `ringpoll compare` keep its promises on this host? A/A false-alarm
// rate over independent trials, detection rates of injected slowdowns, and the MDE achieved.
// Runtime is bounded: trials × rounds × (2 + injections) windows, capped by --budget.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { intRange, positive } from "../cli-args.js";
import { median } from "../stats/describe.js";
import type { MetricName } from "../compare/metric.js";
import { captureEnv } from "../env.js";
import { NATIVE_RECEIVERS } from "../pps/run.js";
import { SCHEMA, type ResultFile } from "../schema.js";
import { analyse, type MetricFigures } from "./analyse.js";
import { runSession } from "./session.js";

const nproc = availableParallelism();
const METRICS: MetricName[] = ["pps", "cpuNsPerPacket"];

const program = new Command("validate:stats")
  .description("A/A false alarms, injected-slowdown detection rates and the MDE of ringpoll compare on this host")
  .option("--trials <n>", "independent trials (chunks of rounds)", intRange("--trials", 2, 1000), 20)
  .option("--rounds <n>", "rounds per trial (runs per side in one comparison)", intRange("--rounds", 2, 1000), 5)
  .option("--duration <seconds>", "measured seconds per run", positive("--duration", 60), 0.5)
  .option("--warmup <seconds>", "unmeasured seconds before each run", positive("--warmup", 10), 0.1)
  .option("--receiver <name>", "native receiver", "epoll")
  .option("--inject <list>", "injected slowdowns, percent", (t: string) => t.split(",").map((x) => positive("--inject", 1000)(x.trim())), [1.5, 5, 20])
  .option("--base-work <ns>", "work added to every packet on every side, so the receiver is the bottleneck", (t: string) => Number(t), 0)
  .option("--target <percent>", "effect for the runs-needed figure", positive("--target", 100), 1.5)
  .option("--budget <seconds>", "stop starting rounds after this long (fewer trials)", positive("--budget", 86400), 900)
  .option("--out <dir>", "where to write runs.json, summary.json and summary.md", "results/validate-stats")
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();

const opts = program.opts<{ trials: number; rounds: number; duration: number; warmup: number; receiver: string; inject: number[]; baseWork: number; target: number; budget: number; out: string }>();
if (!(opts.baseWork >= 0 && opts.baseWork <= 1e6)) {
  console.error(`validate:stats: Expected a number from 0 to 1000000 for --base-work but received ${opts.baseWork}`);
  process.exit(2);
}
if (!(NATIVE_RECEIVERS as readonly string[]).includes(opts.receiver)) {
  console.error(`validate:stats: Expected one of ${NATIVE_RECEIVERS.join(", ")} for --receiver but received ${opts.receiver}`);
  process.exit(2);
}

const cpuSender = nproc >= 2 ? [0] : [];
const cpuReceiver = nproc >= 2 ? 1 : -1;
const loopback = { netns: "", host: "127.0.0.1" };
const base = {
  duration: opts.duration,
  warmup: opts.warmup,
  flows: 8,
  size: 64,
  senders: 1,
  rate: 0,
  port: 0,
  rcvbuf: 4 << 20,
  cpuSender,
  cpuReceiver,
  sender: loopback,
  receiver: loopback,
};
const totalRounds = opts.trials * opts.rounds;
const perRound = (2 + opts.inject.length) * (opts.duration + opts.warmup);
console.error(`validate:stats: ${opts.trials} trials × ${opts.rounds} rounds × ${2 + opts.inject.length} sides, about ${Math.ceil(totalRounds * perRound)} s (budget ${opts.budget} s)`);
const load0 = loadavg();
const started = new Date();
const session = await runSession(base, {
  receiver: opts.receiver,
  inject: opts.inject,
  baseNs: opts.baseWork,
  rounds: totalRounds,
  budgetSeconds: opts.budget,
  onRound: (r, s) => {
    if (r % opts.rounds === 0) console.error(`validate:stats: trial ${r / opts.rounds}/${opts.trials} done, ${s.toFixed(0)} s`);
  },
});
const load1 = loadavg();
const figures: MetricFigures[] = METRICS.map((m) => analyse(session, m, opts.rounds, opts.target));
const busy = median(session.a.map((r) => r.receiverBusy).filter((b): b is number => typeof b === "number"));
const env = captureEnv({ sender: cpuSender, receiver: cpuReceiver }, 2);

const machine = {
  kernel: env.kernel.release,
  cpu: env.cpu.modelName,
  nproc: env.nproc,
  governor: env.governor,
  loadavgBefore: load0[0],
  loadavgAfter: load1[0],
  warnings: env.warnings,
};
const command = `npm run validate:stats -- --trials ${opts.trials} --rounds ${opts.rounds} --duration ${opts.duration} --warmup ${opts.warmup} --receiver ${opts.receiver} --inject ${opts.inject.join(",")}${opts.baseWork ? ` --base-work ${opts.baseWork}` : ""}`;

const pctStr = (x: number | null, d = 1) => (x === null ? "–" : `${x.toFixed(d)} %`);
const rateStr = (r: MetricFigures["falseAlarms"]) => `${r.hits}/${r.trials} (${(r.rate * 100).toFixed(0)} %, CI ${(r.ci[0] * 100).toFixed(0)}–${(r.ci[1] * 100).toFixed(0)} %)`;
const ratioStr = (d: MetricFigures["detection"][number]) =>
  d.measuredRatio === null || d.ci === null ? "–" : `${d.measuredRatio.toFixed(3)} (${d.ci[0].toFixed(3)}–${d.ci[1].toFixed(3)})`;
const markdown = [
  `### validate:stats, ${started.toISOString().slice(0, 10)}`,
  "",
  `- Machine: ${machine.cpu}, ${machine.nproc} vCPUs, kernel ${machine.kernel}, governor ${machine.governor ?? "not exposed"}; load average ${machine.loadavgBefore.toFixed(2)} before, ${machine.loadavgAfter.toFixed(2)} after.`,
  `- Workload: pps over loopback, receiver \`${opts.receiver}\`, 8 flows, 64-byte payloads, ${opts.duration} s windows (+${opts.warmup} s warm-up); ${session.rounds} interleaved rounds in ${session.seconds.toFixed(0)} s; each trial compares ${opts.rounds} runs per side.`,
  `- Receiver busy (median over A's runs): ${busy.toFixed(2)} of a core${busy < 0.9 ? " — not saturated: PPS follows the sender, and extra receiver work partly hides in larger batches per wake-up" : ""}.`,
  ...(opts.baseWork ? [`- Base work on every side: ${opts.baseWork} ns per packet (makes the receiver the bottleneck).`] : []),
  `- Injected work per packet: ${[...session.injectNs].map(([p, ns]) => `${p} % = ${ns.toFixed(1)} ns`).join(", ")}.`,
  `- Command: \`${command}\``,
  "",
  `| metric | A/A false alarms | ${opts.inject.map((p) => `detects +${p} % work`).join(" | ")} | MDE at ${opts.rounds} runs/side (median) | MDE at ${session.rounds} runs/side | runs/side for ${opts.target} % | median CV |`,
  `|---|---|${opts.inject.map(() => "---").join("|")}|---|---|---|---|`,
  ...figures.map(
    (f) =>
      `| ${f.metric} | ${rateStr(f.falseAlarms)} | ${f.detection.map((d) => `${rateStr(d.detected)}${d.wrongWay ? `, ${d.wrongWay} wrong way` : ""}`).join(" | ")} | ${pctStr(f.mdePerTrial)} | ${pctStr(f.mdePooled, 2)} | ${f.runsForTarget ?? "> 100000"} | ${pctStr(f.medianCv === null ? null : f.medianCv * 100)} |`,
  ),
  "",
  `Effect actually produced (all ${session.rounds} rounds pooled, ratio injected/A with 95 % CI):`,
  "",
  `| metric | ${opts.inject.map((p) => `+${p} %`).join(" | ")} |`,
  `|---|${opts.inject.map(() => "---").join("|")}|`,
  ...figures.map((f) => `| ${f.metric} | ${f.detection.map(ratioStr).join(" | ")} |`),
  "",
].join("\n");

mkdirSync(opts.out, { recursive: true });
const runsFile: ResultFile = {
  schema: SCHEMA,
  createdAt: started.toISOString(),
  tool: { name: "ringpoll", version: env.versions.ringpoll, commit: env.versions.commit },
  emulated: env.emulated,
  env,
  results: [
    ["A", 0, session.a] as const,
    ["A′", 0, session.aa] as const,
    ...[...session.injected].map(([p, runs]) => [`+${p} %`, p, runs] as const),
  ].map(([side, inject, runs]) => ({
    scenario: "pps" as const,
    receiver: opts.receiver,
    params: { validateSide: side, injectPercent: inject, flows: 8, size: 64, duration: opts.duration },
    runs: [...runs],
    summary: { median: 0, cv: 0 },
  })),
};
writeFileSync(join(opts.out, "runs.json"), JSON.stringify(runsFile, null, 2) + "\n");
writeFileSync(
  join(opts.out, "summary.json"),
  JSON.stringify({ date: started.toISOString(), machine, command, receiverBusy: busy, rounds: session.rounds, seconds: session.seconds, injectNs: Object.fromEntries(session.injectNs), figures }, null, 2) + "\n",
);
writeFileSync(join(opts.out, "summary.md"), markdown);
console.log(markdown);
console.error(`validate:stats: wrote ${join(opts.out, "runs.json")}, summary.json, summary.md`);
