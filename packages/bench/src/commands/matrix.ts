import { existsSync, statSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { percent } from "../cli-args.js";
import { hasOption, parseSysctl, type JobKind } from "../matrix/job.js";
import { KernelNotFoundError, local, parseKernelSpec } from "../matrix/kernels.js";
import { runMatrix, type MatrixOptions } from "../matrix/runner.js";

interface MatrixFlags {
  kernel: string[];
  accel: "auto" | "kvm" | "tcg";
  cpus: number;
  memory?: number;
  disk: number;
  timeout: number;
  out?: string;
  sysctl: Array<[string, string]>;
  vitest?: boolean;
  shell?: boolean;
  quiet?: boolean;
  interleave?: boolean;
  rounds: number;
  injectPercent?: string;
  force?: boolean;
  maxOtherBusy: number;
}

function integer(flag: string, min: number, max: number) {
  return (text: string): number => {
    const v = Number(text);
    if (!/^\d+$/.test(text.trim()) || v < min || v > max) {
      throw new InvalidArgumentError(`Expected an integer between ${min} and ${max} for ${flag} but received ${text}`);
    }
    return v;
  };
}

function kernelSpec(text: string, previous: string[]): string[] {
  try {
    const spec = parseKernelSpec(text);
    if (spec.kind === "path") local(text, spec.path);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...previous, text];
}

function sysctl(text: string, previous: Array<[string, string]>): Array<[string, string]> {
  try {
    return [...previous, parseSysctl(text)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** "7.0=5" → the side given as --kernel 7.0; "5" → the last --kernel. */
export function injectSide(text: string, kernels: readonly string[], usage: (msg: string) => never): { kernel: number; percent: number } {
  const eq = text.lastIndexOf("=");
  const [spec, value] = eq < 0 ? [null, text] : [text.slice(0, eq), text.slice(eq + 1)];
  const percent = Number(value);
  if (value.trim() === "" || !Number.isFinite(percent) || percent <= 0 || percent > 1000) {
    usage(`Expected a percentage above 0 and up to 1000 for --inject-percent but received ${JSON.stringify(value)}`);
  }
  if (spec === null) return { kernel: kernels.length - 1, percent };
  const kernel = kernels.indexOf(spec);
  if (kernel < 0) usage(`Expected one of the --kernel values (${kernels.join(", ")}) before = in --inject-percent but received ${JSON.stringify(spec)}`);
  return { kernel, percent };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

export function registerMatrix(program: Command): void {
  program
    .command("matrix")
    .description("boot Debian's kernel images in QEMU and run a ringpoll command (or the native tests) inside each")
    .usage("--kernel <version> [--kernel <version> …] [options] -- <ringpoll subcommand and its args>")
    .argument("[command...]", "the ringpoll subcommand to run in each guest (after --)")
    .option("--kernel <version>", "6.19 (newest of the series), 7.0.13, or a path to a vmlinuz; repeat for more", kernelSpec, [])
    .option("--accel <mode>", "auto (KVM when a test guest runs, else TCG), kvm or tcg", (v) => {
      if (v !== "auto" && v !== "kvm" && v !== "tcg") throw new InvalidArgumentError(`Expected auto, kvm or tcg for --accel but received ${v}`);
      return v;
    }, "auto")
    .option("--cpus <n>", "guest CPUs", integer("--cpus", 1, 64), 2)
    .option("--memory <MiB>", "guest memory (default 1024, 2048 with --vitest)", integer("--memory", 256, 65536))
    .option("--disk <MiB>", "size of the emulated NVMe disk (sparse)", integer("--disk", 16, 1 << 20), 1024)
    .option("--timeout <s>", "per guest; a guest still running then is killed", integer("--timeout", 5, 86400), 600)
    .option("--out <dir>", "one result file per kernel goes here (default results/matrix-<time>)")
    .option("--sysctl <key=value>", "set in the guest before the command (repeatable), e.g. kernel.io_uring_disabled=2", sysctl, [])
    .option("--vitest", "the command is vitest arguments: run the native test files in each guest")
    .option("--shell", "the command is a shell command line for the guest's busybox sh")
    .option("--quiet", "do not echo the guests' output")
    .option("--interleave", "boot every kernel once, keep the guests up and run a bench subcommand in rounds (A B, B A, …), compared paired by round")
    .option("--rounds <n>", "with --interleave: rounds (one run per guest each)", integer("--rounds", 2, 1000), 6)
    .option("--inject-percent <[kernel=]percent>", "with --interleave: extra per-packet work on one side, e.g. 7.0=5 (a bare percent: the last --kernel); validates the comparison")
    .option("--force", "with --interleave: give verdicts on emulated (QEMU TCG) results")
    .option("--max-other-busy <percent>", "with --interleave: the comparison leaves out rounds during which other work used more than this share of the host (the files keep them; compare --max-other-busy does the same)", percent("--max-other-busy", false), 50)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (command: string[], flags: MatrixFlags, cmd: Command) => {
      const usage = (msg: string): never => {
        console.error(`ringpoll matrix: ${msg}`);
        process.exit(2);
      };
      if (flags.kernel.length === 0) usage("no kernel: give --kernel 6.19 --kernel 7.0 (a series, a full version or a vmlinuz path)");
      if (flags.vitest && flags.shell) usage("--vitest and --shell exclude each other");
      const kind: JobKind = flags.vitest ? "vitest" : flags.shell ? "shell" : "ringpoll";
      if (kind !== "vitest" && command.length === 0) usage("nothing to run: give the command after --, e.g. ringpoll matrix --kernel 7.0 -- probe --json");
      if (kind === "ringpoll") {
        const names = cmd.parent!.commands.map((c) => c.name()).filter((n) => n !== "matrix");
        if (!names.includes(command[0]!)) usage(`Expected a ringpoll subcommand (${names.join(", ")}) after -- but received ${JSON.stringify(command[0])}`);
      }
      if (flags.interleave) {
        if (kind !== "ringpoll" || command[0] !== "bench") usage("--interleave runs a bench subcommand: give -- bench pps … (or udp-rr, iops)");
        if (flags.kernel.length < 2) usage("--interleave compares kernels: give at least two --kernel");
        if (hasOption(command, "--inject-percent")) usage("with --interleave give --inject-percent to matrix (one side), not to bench");
      } else {
        for (const [f, flag] of [["rounds", "--rounds"], ["injectPercent", "--inject-percent"], ["force", "--force"], ["maxOtherBusy", "--max-other-busy"]] as const) {
          if (cmd.getOptionValueSource(f) === "cli") usage(`${flag} needs --interleave`);
        }
      }
      const out = flags.out ?? `results/matrix-${stamp()}`;
      if (existsSync(out) && !statSync(out).isDirectory()) usage(`Expected a directory for --out but ${out} is a file`);
      const options: MatrixOptions = {
        kernels: flags.kernel,
        interleave: flags.interleave === true,
        rounds: flags.rounds,
        inject: flags.injectPercent === undefined ? null : injectSide(flags.injectPercent, flags.kernel, usage),
        force: flags.force === true,
        maxOtherBusy: flags.maxOtherBusy / 100,
        accel: flags.accel,
        cpus: flags.cpus,
        memoryMiB: flags.memory ?? (kind === "vitest" ? 2048 : 1024),
        diskMiB: flags.disk,
        timeoutS: flags.timeout,
        out,
        kind,
        args: command,
        sysctls: flags.sysctl,
        echo: !flags.quiet,
      };
      const controller = new AbortController();
      const interrupt = (): void => {
        // a second Ctrl-C while cleanup runs: leave now
        if (controller.signal.aborted) process.exit(130);
        console.error("ringpoll matrix: interrupted; stopping QEMU and removing temporary files");
        controller.abort();
      };
      process.on("SIGINT", interrupt);
      process.on("SIGTERM", interrupt);
      try {
        const code = await runMatrix(options, { log: (l) => console.error(l), print: (l) => console.log(l) }, controller.signal);
        process.exitCode = controller.signal.aborted ? 130 : code;
      } catch (err) {
        console.error(`ringpoll matrix: ${(err as Error).message}`);
        process.exitCode = controller.signal.aborted ? 130 : err instanceof KernelNotFoundError ? 2 : 1;
      } finally {
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
      }
    });
}
