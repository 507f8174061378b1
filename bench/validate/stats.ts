// npm run validate:stats — does `ringpoll compare` keep its promises on this host? A/A false-alarm
// rate over independent trials, detection rates of injected slowdowns, and the MDE achieved.
// Runtime is bounded: trials × rounds × (2 + injections) windows, capped by --budget.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { intRange, positive } from "../cli-args.js";
import { median } from "../stats/describe.js";
import type { MetricName } from "../compare/metric.js";
import { captureEnv } from "../env.js";
import { NATIVE_RECEIVERS, summarize } from "../pps/run.js";
import { SCHEMA, type ResultFile } from "../schema.js";
import { loadResultFile } from "../compare/input.js";
import { analyse, type MetricFigures, type SessionRuns } from "./analyse.js";
import { renderSummary, type SummaryInput } from "./summary.js";
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
  .option("--from <dir>", "re-analyse the session saved in an earlier --out directory instead of measuring")
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();

const opts = program.opts<{ trials: number; rounds: number; duration: number; warmup: number; receiver: string; inject: number[]; baseWork: number; target: number; budget: number; out: string; from?: string }>();
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
const METRIC_NAMES = METRICS;

function analyseAll(session: SessionRuns): MetricFigures[] {
  return METRIC_NAMES.map((m) => analyse(session, m, opts.rounds, opts.target));
}

function write(dir: string, summary: Omit<SummaryInput, "figures">, session: SessionRuns, runsFile?: ResultFile): void {
  const figures = analyseAll(session);
  const markdown = renderSummary({ ...summary, figures });
  mkdirSync(dir, { recursive: true });
  if (runsFile) writeFileSync(join(dir, "runs.json"), JSON.stringify(runsFile, null, 2) + "\n");
  writeFileSync(join(dir, "summary.json"), JSON.stringify({ ...summary, figures }, null, 2) + "\n");
  writeFileSync(join(dir, "summary.md"), markdown);
  console.log(markdown);
  console.error(`validate:stats: wrote ${join(dir, "summary.md")}`);
}

if (opts.from) {
  // re-analyse a saved session (runs.json + summary.json of an earlier --out)
  const runsFile = loadResultFile(join(opts.from, "runs.json")).data;
  const saved = JSON.parse(readFileSync(join(opts.from, "summary.json"), "utf8")) as SummaryInput;
  const side = (name: string) => runsFile.results.find((r) => r.params.validateSide === name)?.runs ?? [];
  const injected = new Map(runsFile.results.filter((r) => Number(r.params.injectPercent) > 0).map((r) => [Number(r.params.injectPercent), r.runs]));
  opts.rounds = saved.roundsPerTrial;
  opts.target = saved.target;
  const { figures: _old, ...summary } = saved;
  write(opts.out, summary, { a: side("A"), aa: side("A′"), injected });
} else {
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
  const env = captureEnv({ sender: cpuSender, receiver: cpuReceiver }, 2);
  const summary: Omit<SummaryInput, "figures"> = {
    date: started.toISOString(),
    machine: { kernel: env.kernel.release, cpu: env.cpu.modelName, nproc: env.nproc, governor: env.governor, loadavgBefore: load0[0], loadavgAfter: load1[0] },
    command: `npm run validate:stats -- --trials ${opts.trials} --rounds ${opts.rounds} --duration ${opts.duration} --warmup ${opts.warmup} --receiver ${opts.receiver} --inject ${opts.inject.join(",")}${opts.baseWork ? ` --base-work ${opts.baseWork}` : ""}`,
    receiver: opts.receiver,
    duration: opts.duration,
    warmup: opts.warmup,
    roundsPerTrial: opts.rounds,
    rounds: session.rounds,
    seconds: session.seconds,
    receiverBusy: median(session.a.map((r) => r.receiverBusy).filter((b): b is number => typeof b === "number")),
    baseWork: opts.baseWork,
    injectNs: Object.fromEntries(session.injectNs),
    target: opts.target,
  };
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
      params: { validateSide: side, injectPercent: inject, baseWork: opts.baseWork, flows: 8, size: 64, duration: opts.duration },
      runs: [...runs],
      summary: summarize([...runs], "pps"),
    })),
  };
  write(opts.out, summary, session, runsFile);
}
