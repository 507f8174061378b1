// The shell script a guest runs (carried on the kernel command line), and what the host makes of
// what comes back.
import { GUEST_ROOT } from "./initramfs.js";
import { shellQuote } from "./channel.js";

/** "ringpoll": a ringpoll subcommand; "vitest": vitest arguments (the native test files); "shell": a shell command. */
export type JobKind = "ringpoll" | "vitest" | "shell";

/** Where the guest leaves a result file; guest-init.sh sends it to the host. */
export const GUEST_RESULT = "/tmp/ringpoll-result.json";
/** The emulated NVMe namespace, with a poll queue (see docs/matrix.md). */
export const GUEST_IOPOLL_DEVICE = "/dev/nvme0n1";

const SYSCTL = /^[a-z0-9_]+(\.[a-z0-9_-]+)+=\S(.*\S)?$/;

/** kernel.io_uring_disabled=2 → ["kernel.io_uring_disabled", "2"]; throws on anything else. */
export function parseSysctl(value: string): [string, string] {
  if (!SYSCTL.test(value)) throw new Error(`Expected key=value (e.g. kernel.io_uring_disabled=2) for --sysctl but received ${JSON.stringify(value)}`);
  const i = value.indexOf("=");
  return [value.slice(0, i), value.slice(i + 1)];
}

/** A bench subcommand writes its result file where the guest sends it from; other --out values are replaced. */
export function guestRingpollArgs(args: readonly string[]): string[] {
  if (args[0] !== "bench") return [...args];
  return [...without(args, "--out"), "--out", GUEST_RESULT];
}

/** Removes an option and its value (both "--x v" and "--x=v"). */
function without(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === flag) i++;
    else if (!a.startsWith(`${flag}=`)) out.push(a);
  }
  return out;
}

/** Whether the words after -- set this option. */
export function hasOption(args: readonly string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/**
 * matrix --interleave: each request runs one round (one run per receiver) of a bench subcommand;
 * `injectPercent` > 0 adds the calibrated extra work on this guest's side.
 */
export function roundArgs(args: readonly string[], injectPercent: number): string[] {
  return [...without(args, "--runs"), "--runs", "1", ...(injectPercent > 0 ? ["--inject-percent", String(injectPercent)] : [])];
}

export interface JobSpec {
  kind: JobKind;
  args: readonly string[];
  sysctls: ReadonlyArray<[string, string]>;
  emulated: boolean;
  /** matrix --interleave: the ringpoll job is the round server (serve.ts), which runs the bench once per request */
  serve?: boolean;
}

export function jobScript(j: JobSpec): string {
  const lines = [
    "set -e",
    `cd ${GUEST_ROOT}`,
    // the contract with the tests and the bench (docs/matrix.md)
    `export RINGPOLL_GUEST=1 RINGPOLL_EMULATED=${j.emulated ? 1 : 0} RINGPOLL_IOPOLL_DEVICE=${GUEST_IOPOLL_DEVICE} NO_COLOR=1`,
    ...j.sysctls.map(([k, v]) => `echo ${shellQuote([v])} > /proc/sys/${k.replace(/\./g, "/")}`),
    "set +e",
  ];
  if (j.kind === "ringpoll") {
    const entry = j.serve ? "packages/bench/dist/matrix/serve.js" : "packages/bench/dist/cli.js";
    lines.push(`exec node ${entry} ${shellQuote(guestRingpollArgs(j.args))}`);
  }
  else if (j.kind === "vitest") {
    const base = ["run", "--project", "native", "--reporter=default", "--reporter=json", `--outputFile.json=${GUEST_RESULT}`];
    lines.push(`exec node node_modules/vitest/vitest.mjs ${shellQuote([...base, ...j.args])}`);
  } else lines.push(j.args.join(" "));
  return lines.join("\n") + "\n";
}

/** One line about a result, for the summary. */
export function describeOutput(value: unknown): string {
  if (value === null || typeof value !== "object") return "";
  const o = value as Record<string, any>;
  if (o.schema === "ringpoll.bench.v1" && Array.isArray(o.results)) {
    return o.results
      .map((r: any) => `${r.scenario}/${r.receiver} median ${Math.round(r.summary?.median ?? NaN)} (cv ${((r.summary?.cv ?? NaN) * 100).toFixed(1)} %)`)
      .join("; ");
  }
  if (typeof o.numTotalTests === "number") {
    const n = o.numFailedTestSuites ?? 0;
    const files = n > 0 ? `; ${n} suite${n === 1 ? "" : "s"} failed (a hook or a file-level error)` : "";
    return `tests: ${o.numPassedTests} passed, ${o.numFailedTests} failed, ${o.numPendingTests + (o.numTodoTests ?? 0)} skipped${files}`;
  }
  if (o.kernel?.release) return `kernel.release ${o.kernel.release}${o.ioUring ? `, io_uring ${o.ioUring.available ? "available" : `refused (${o.ioUring.reason ?? "?"})`}` : ""}`;
  return "";
}
