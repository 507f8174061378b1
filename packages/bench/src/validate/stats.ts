// npm run validate:stats — does `ringpoll compare` keep its promises on this host? Records separate
// interleaved sessions (A, A′ = the same configuration, and injected slowdowns whose effect is
// calibrated), then re-analyses them: within each session paired and unpaired side by side (A/A false
// alarms, detection, MDE), and across sessions (A/A over all pairs of sessions, with one session per
// side and with three). `--from <dir>` re-analyses a saved collection without measuring.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { intRange, positive } from "../cli-args.js";
import { NATIVE_RECEIVERS } from "../pps/run.js";
import { BadInput } from "../compare/input.js";
import { analyseDir } from "./analyse.js";
import { record } from "./record.js";
import { renderSummary } from "./summary.js";

const nproc = availableParallelism();

const program = new Command("validate:stats")
  .description("A/A false alarms, detection of calibrated injected slowdowns and the MDE of ringpoll compare on this host, paired and unpaired, within and across sessions")
  .option("--sessions <n>", "separate sessions to record", intRange("--sessions", 2, 1000), 40)
  .option("--rounds <n>", "rounds per session (runs per side in one comparison)", intRange("--rounds", 2, 10000), 36)
  .option("--gap <seconds>", "pause between sessions", positive("--gap", 3600), 10)
  .option("--duration <seconds>", "measured seconds per run", positive("--duration", 60), 0.5)
  .option("--warmup <seconds>", "unmeasured seconds before each run", positive("--warmup", 10), 0.1)
  .option("--receiver <name>", "native receiver", "epoll")
  .option("--inject <list>", "injected slowdowns: the effect on CPU per packet, percent", (t: string) => t.split(",").map((x) => positive("--inject", 1000)(x.trim())), [1.5, 20])
  .option("--base-work <ns>", "work added to every packet on every side, so the receiver is the bottleneck", (t: string) => Number(t), 0)
  .option("--target <percent>", "effect for the runs-needed figures", positive("--target", 100), 1.5)
  .option("--budget <seconds>", "stop starting sessions after this long", positive("--budget", 86400), 5400)
  .option("--out <dir>", "where sessions/, calibration.json, summary.json and summary.md go", "results/validate-stats")
  .option("--seed-fit <file>", "calibration.json of an earlier collection: its measurements start the fit of the injected work")
  .option("--resume", "add --sessions more sessions to those already in --out (a collection recorded over several sittings); the injection fit goes on from its calibration.json")
  .option("--from <dir>", "re-analyse the sessions saved in an earlier --out directory instead of measuring")
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse();

interface Flags {
  sessions: number;
  rounds: number;
  gap: number;
  duration: number;
  warmup: number;
  receiver: string;
  inject: number[];
  baseWork: number;
  target: number;
  budget: number;
  out: string;
  seedFit?: string;
  resume?: boolean;
  from?: string;
}
const opts = program.opts<Flags>();

function fail(message: string): never {
  console.error(`validate:stats: ${message}`);
  process.exit(2);
}

if (!(opts.baseWork >= 0 && opts.baseWork <= 1e6)) fail(`Expected a number from 0 to 1000000 for --base-work but received ${opts.baseWork}`);
if (!(NATIVE_RECEIVERS as readonly string[]).includes(opts.receiver)) fail(`Expected one of ${NATIVE_RECEIVERS.join(", ")} for --receiver but received ${opts.receiver}`);

if (!opts.from) {
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
    cpuSender: nproc >= 2 ? [0] : [],
    cpuReceiver: nproc >= 2 ? 1 : -1,
    sender: loopback,
    receiver: loopback,
  };
  const perSession = opts.rounds * (2 + opts.inject.length) * (opts.duration + opts.warmup);
  console.error(`validate:stats: ${opts.sessions} sessions × ${opts.rounds} rounds × ${2 + opts.inject.length} sides, about ${Math.ceil(opts.sessions * (perSession + opts.gap))} s (budget ${opts.budget} s)`);
  await record(base, {
    receiver: opts.receiver,
    inject: opts.inject,
    baseNs: opts.baseWork,
    sessions: opts.sessions,
    rounds: opts.rounds,
    gapSeconds: opts.gap,
    budgetSeconds: opts.budget,
    out: opts.out,
    seedFit: opts.seedFit,
    resume: opts.resume === true,
  }).catch((err: unknown) => {
    if (err instanceof BadInput) fail(err.message);
    throw err;
  });
}

try {
  const summary = analyseDir(opts.from ?? opts.out, opts.target);
  const markdown = renderSummary(summary);
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  writeFileSync(join(opts.out, "summary.md"), markdown);
  console.log(markdown);
  console.error(`validate:stats: wrote ${join(opts.out, "summary.md")}`);
} catch (err) {
  if (!(err instanceof BadInput)) throw err;
  fail(err.message);
}
