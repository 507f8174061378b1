import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { runAb, type AbOutcome } from "../ab/loop.js";
import { describeSide, parseSide, ppsSide, type PpsBase, type SideSpec } from "../ab/pps-sides.js";
import { intRange, percent, positive } from "../cli-args.js";
import type { Comparison } from "../compare/files.js";
import { BadInput } from "../compare/input.js";
import { higherIsBetter, type MetricName } from "../compare/metric.js";
import { captureEnv } from "../env.js";
import { createNetnsPair, netnsAvailable } from "../netns.js";
import { summarize } from "../pps/run.js";
import { newSession, SCHEMA, type ResultFile, type ScenarioResult } from "../schema.js";
import { emitReport, metricList } from "./compare.js";

const nproc = availableParallelism();
// Errors from the engine that mean "this input cannot work here"
const INPUT_ERRNOS = new Set(["EADDRINUSE", "EADDRNOTAVAIL", "EINVAL", "EACCES", "EPERM"]);

interface AbFlags {
  a: string;
  b?: string;
  metric: (MetricName | "headline")[];
  halfWidth: number;
  minRounds: number;
  maxRounds: number;
  budget: number;
  duration: number;
  warmup: number;
  flows: number;
  size: number;
  senders: number;
  rate: number;
  cpuSender: number[];
  cpuReceiver: number;
  netns?: boolean;
  target: number;
  json?: boolean;
  out?: string;
  markdown?: string;
  junit?: string;
  failOnRegression?: number;
  progress: boolean;
}

function cpuList(text: string): number[] {
  return text.split(",").map((s) => intRange("--cpu-sender", 0, nproc - 1)(s.trim()));
}

function toComparisons(outcome: AbOutcome, a: SideSpec, b: SideSpec, base: PpsBase, kernel: string, emulated: boolean): Comparison[] {
  const receiver = a.receiver === b.receiver ? a.receiver : `${a.receiver} vs ${b.receiver}`;
  const params = { a: describeSide(a), b: describeSide(b), flows: base.flows, size: base.size, duration: base.duration };
  return outcome.comparisons.map(({ metric, comparison }) => ({
    scenario: "pps",
    receiver,
    params,
    metric,
    higherIsBetter: higherIsBetter(metric),
    ...comparison,
    base: { file: `A: ${describeSide(a)}`, files: [], kernel, emulated, ...comparison.base },
    head: { file: `B: ${describeSide(b)}`, files: [], kernel, emulated, ...comparison.head },
    sessions: null,
    withheld: false,
    badInput: false,
    notes: [`${outcome.rounds} interleaved rounds in ${outcome.seconds.toFixed(0)} s; stopped: ${outcome.stopReason}`],
  }));
}

function resultFile(outcome: AbOutcome, sides: [SideSpec, SideSpec], base: PpsBase, started: Date): ResultFile {
  const env = captureEnv({ sender: base.cpuSender, receiver: base.cpuReceiver }, base.senders + 1);
  const results: ScenarioResult[] = (["A", "B"] as const).map((name, i) => {
    const runs = i === 0 ? outcome.a : outcome.b;
    return {
      scenario: "pps",
      receiver: sides[i].receiver,
      params: { abSide: name, flows: base.flows, size: base.size, senders: base.senders, rate: base.rate, duration: base.duration, injectPercent: sides[i].inject },
      runs,
      summary: summarize(runs, "pps"),
    };
  });
  return { schema: SCHEMA, createdAt: new Date().toISOString(), session: newSession(true, started), tool: { name: "ringpoll", version: env.versions.ringpoll, commit: env.versions.commit }, emulated: env.emulated, env, results };
}

async function ab(opts: AbFlags): Promise<number> {
  if (opts.cpuSender.includes(opts.cpuReceiver)) throw new BadInput(`--cpu-sender and --cpu-receiver share CPU ${opts.cpuReceiver}`);
  if (opts.minRounds > opts.maxRounds) throw new BadInput(`Expected --min-rounds (${opts.minRounds}) no larger than --max-rounds (${opts.maxRounds})`);
  const specA = parseSide("--a", opts.a, { receiver: "epoll", inject: 0 });
  const specB = parseSide("--b", opts.b ?? opts.a, specA);
  const metrics = [...new Set(opts.metric.map((m) => (m === "headline" ? "pps" : m)))];
  if (opts.netns) {
    const why = netnsAvailable();
    if (why) throw new BadInput(why);
  }
  const pair = opts.netns ? createNetnsPair() : null;
  try {
    const loopback = { netns: "", host: "127.0.0.1" };
    const base: PpsBase = {
      duration: opts.duration,
      warmup: opts.warmup,
      flows: opts.flows,
      size: opts.size,
      senders: opts.senders,
      rate: opts.rate,
      port: 0,
      rcvbuf: 4 << 20,
      cpuSender: opts.cpuSender,
      cpuReceiver: opts.cpuReceiver,
      sender: pair?.sender ?? loopback,
      receiver: pair?.receiver ?? loopback,
    };
    const a = await ppsSide("A", specA, base);
    const b = await ppsSide("B", specB, base);
    console.error(`ab: A = ${describeSide(specA)}, B = ${describeSide(specB)}; rounds until the CI half-width is ≤ ${opts.halfWidth} % (${opts.minRounds}–${opts.maxRounds} rounds, budget ${opts.budget} s)`);
    const started = new Date();
    const outcome = await runAb(a, b, {
      metrics,
      minRounds: opts.minRounds,
      maxRounds: opts.maxRounds,
      halfWidthPercent: opts.halfWidth,
      budgetSeconds: opts.budget,
      targetPercent: opts.target,
      onRound: (s) => opts.progress && console.error(`ab: round ${s.rounds}, ${s.seconds.toFixed(0)} s, CI half-width ${s.halfWidth === null ? "–" : `${s.halfWidth.toFixed(2)} %`}`),
    });
    const file = resultFile(outcome, [specA, specB], base, started);
    if (opts.out) {
      mkdirSync(dirname(opts.out), { recursive: true });
      writeFileSync(opts.out, JSON.stringify(file, null, 2) + "\n");
    }
    const comparisons = toComparisons(outcome, specA, specB, base, file.env.kernel.release, file.emulated);
    const code = emitReport({ comparisons, notes: file.env.warnings.map((w) => `host: ${w}`) }, opts);
    if (opts.out) console.error(`ab: results in ${opts.out}`);
    return code;
  } finally {
    pair?.remove();
  }
}

export function registerAb(program: Command): void {
  program
    .command("ab")
    .description("interleaved A/B pps comparison on this host, adding rounds until the CI is narrow enough or the budget is spent")
    .option("--a <spec>", "side A: receiver=<name>[,inject=<percent>]", "receiver=epoll")
    .option("--b <spec>", "side B, keys not given are taken from A (default: same as A, an A/A check)")
    .option("--metric <list>", "pps and/or cpuNsPerPacket (lower is better), comma-separated", metricList, ["pps", "cpuNsPerPacket"])
    .option("--half-width <percent>", "stop when every ratio's 95 % CI is within ± this", percent("--half-width", false), 1)
    .option("--min-rounds <n>", "rounds before the half-width may stop the run", intRange("--min-rounds", 2, 10000), 5)
    .option("--max-rounds <n>", "round limit", intRange("--max-rounds", 2, 10000), 100)
    .option("--budget <seconds>", "time budget; no round starts that would exceed it", positive("--budget", 86400), 120)
    .option("--duration <seconds>", "measured seconds per run", positive("--duration", 3600), 1)
    .option("--warmup <seconds>", "unmeasured seconds before each window", positive("--warmup", 60), 0.25)
    .option("--flows <n>", "flows (socket pairs, distinct source ports)", intRange("--flows", 1, 4096), 8)
    .option("--size <bytes>", "UDP payload bytes", intRange("--size", 1, 1472), 64)
    .option("--senders <n>", "sender threads", intRange("--senders", 1, 64), 1)
    .option("--rate <pps>", "total send rate, 0 = as fast as possible", intRange("--rate", 0, 1e9), 0)
    .option("--cpu-sender <cpus>", "CPU(s) for sender threads", cpuList, nproc >= 2 ? [0] : [])
    .option("--cpu-receiver <cpu>", "CPU for the receiver", intRange("--cpu-receiver", -1, nproc - 1), nproc >= 2 ? 1 : -1)
    .option("--netns", "sender and receiver in two network namespaces over veth (root)")
    .option("--target <percent>", "effect size to compute the runs needed for", percent("--target", false), 1.5)
    .option("--fail-on-regression <percent>", "exit 1 when B is significantly slower than A by more than this", percent("--fail-on-regression", true))
    .option("--json", "print the comparisons as JSON")
    .option("--out <file>", "also write both sides' runs as a result file")
    .option("--markdown <file>", "write a markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)")
    .option("--junit <file>", "write JUnit XML, one testcase per metric")
    .option("--no-progress", "no line per round on stderr")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (opts: AbFlags) => {
      try {
        process.exitCode = await ab(opts);
      } catch (err) {
        const e = err as Error & { code?: string };
        const bad = err instanceof BadInput || err instanceof InvalidArgumentError || (e.code !== undefined && INPUT_ERRNOS.has(e.code));
        console.error(`ringpoll ab: ${e.message.split("\n")[0]}`);
        process.exitCode = bad ? 2 : 1;
      }
    });
}
