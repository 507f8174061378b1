// ringpoll matrix: resolve the kernels, build the initramfs, boot each kernel in turn, collect one
// result file per kernel, print a summary, compare bench results across kernels.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chooseAccel, type AccelChoice } from "./accel.js";
import { buildInitramfs } from "./initramfs.js";
import { describeOutput, jobScript, type JobKind } from "./job.js";
import { runInterleaved } from "./interleave.js";
import { KernelStore, type Kernel } from "./kernels.js";
import { boot, findQemu, qemuVersion, retryBootPanic, type Accel } from "./qemu.js";

export const EMULATED_LABEL = "timings are emulated (QEMU TCG), not comparable to hardware";

export interface MatrixOptions {
  kernels: string[];
  /** boot every kernel once and run the command in rounds (A B, B A, …) */
  interleave: boolean;
  rounds: number;
  /** --inject-percent: extra work on one side (index into kernels) */
  inject: { kernel: number; percent: number } | null;
  /** verdicts on emulated (TCG) results */
  force: boolean;
  /** --max-other-busy as a fraction: rounds busier with other work are left out of the comparison */
  maxOtherBusy: number;
  accel: AccelChoice;
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
  timeoutS: number;
  out: string;
  kind: JobKind;
  args: string[];
  sysctls: Array<[string, string]>;
  /** echo the guest's console output of the job */
  echo: boolean;
}

export interface KernelOutcome {
  kernel: Kernel;
  accel: Accel;
  exit: number | null;
  failure: string | null;
  seconds: number;
  file: string | null;
  detail: string;
  console: string[];
  bench: boolean;
}

export interface MatrixIo {
  /** progress and guest output (stderr) */
  log: (line: string) => void;
  /** the summary (stdout) */
  print: (line: string) => void;
}

export function fileName(release: string, taken: Set<string>): string {
  const base = release.replace(/[^A-Za-z0-9._+-]/g, "_");
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

export interface Prepared {
  qemu: string;
  /** QEMU's version */
  version: string;
  kernels: Kernel[];
  initrd: string;
  accel: Accel;
  /** temporary directory for disks and sockets, removed at the end */
  work: string;
}

/** A fresh sparse file behind a guest's emulated NVMe disk. */
export function scratchDisk(work: string, name: string, MiB: number): string {
  const disk = join(work, `${name}.img`);
  writeFileSync(disk, "");
  truncateSync(disk, MiB * 2 ** 20);
  return disk;
}

/** Kernels, initramfs and KVM-or-TCG: what every mode needs before a guest boots; null when interrupted. */
async function prepare(o: MatrixOptions, io: MatrixIo, signal: AbortSignal, work: string): Promise<Prepared | null> {
  const qemu = findQemu();
  const store = new KernelStore();
  const kernels: Kernel[] = [];
  for (const spec of o.kernels) {
    const k = await store.resolve(spec, io.log);
    if (k.note) io.log(`note: ${k.note}`);
    io.log(`kernel ${spec} → ${k.release} (${k.source === "local" ? k.image : k.source})`);
    kernels.push(k);
    if (signal.aborted) return null;
  }
  const mode = o.kind === "vitest" ? "vitest" : "run";
  const initrd = await buildInitramfs({ mode, log: io.log });
  io.log(`initramfs ${initrd.path} (${(initrd.bytes / 2 ** 20).toFixed(0)} MiB, ${initrd.reused ? "cached" : "built"})`);
  if (signal.aborted) return null;

  const version = await qemuVersion(qemu);
  const base = { qemu, image: kernels[0]!.image, initrd: initrd.path, cpus: o.cpus, memoryMiB: o.memoryMiB, disk: scratchDisk(work, "probe", o.diskMiB), signal };
  const { accel, reason } = await chooseAccel(o.accel, base, version, io.log);
  io.log(`accel ${accel}${reason ? ` (KVM not usable: ${reason})` : ""}`);
  if (signal.aborted) return null;
  return { qemu, version, kernels, initrd: initrd.path, accel, work };
}

/** Runs the matrix; returns the process exit code (0 when every guest's command exited 0). */
export async function runMatrix(o: MatrixOptions, io: MatrixIo, signal: AbortSignal): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "ringpoll-matrix-"));
  try {
    const p = await prepare(o, io, signal, work);
    if (p === null) return 130;
    mkdirSync(o.out, { recursive: true });
    if (o.interleave) return await runInterleaved(p, o, io, signal);
    const { kernels, accel, version } = p;
    const disk = scratchDisk(work, "nvme", o.diskMiB);
    const base = { qemu: p.qemu, initrd: p.initrd, cpus: o.cpus, memoryMiB: o.memoryMiB, disk, signal };
    const taken = new Set<string>();
    const outcomes: KernelOutcome[] = [];
    for (const kernel of kernels) {
      io.log(`booting ${kernel.release} (${accel}, ${o.cpus} CPUs, ${o.memoryMiB} MiB)`);
      truncateSync(disk, 0);
      truncateSync(disk, o.diskMiB * 2 ** 20);
      const job = jobScript({ kind: o.kind, args: o.args, sysctls: o.sysctls, emulated: accel === "tcg" });
      const once = () =>
        boot({
          ...base,
          image: kernel.image,
          accel,
          job,
          timeoutMs: o.timeoutS * 1000,
          onConsole: o.echo ? (l) => io.log(`[${kernel.version}] ${l}`) : undefined,
        });
      const r = await retryBootPanic(once, (x) => (!(x instanceof Error) && x.bootPanic ? `${kernel.release}: ${x.failure}` : null), io.log, signal);
      if (signal.aborted) return 130;
      const outcome = collect(kernel, accel, r, o, fileName(kernel.release, taken), version);
      outcomes.push(outcome);
      if (outcome.failure !== null) {
        io.log(`${kernel.release}: ${outcome.failure}; last console lines:`);
        for (const l of outcome.console.slice(-15)) io.log(`  ${l}`);
      }
    }
    summarize(outcomes, accel, io);
    await compareBench(outcomes, io);
    return outcomes.every((x) => x.exit === 0) ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function collect(
  kernel: Kernel,
  accel: Accel,
  r: Awaited<ReturnType<typeof boot>>,
  o: MatrixOptions,
  name: string,
  qemu: string,
): KernelOutcome {
  const outcome: KernelOutcome = { kernel, accel, exit: r.exit, failure: r.failure, seconds: r.seconds, file: null, detail: "", console: r.console, bench: false };
  const data = r.frames.get("result") ?? r.frames.get("stdout");
  if (data === undefined || data.length === 0) return outcome;
  let json: unknown;
  try {
    json = JSON.parse(data.toString("utf8"));
  } catch {
    json = undefined;
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    // the host knows how the guest ran; the result says so too
    const stamped = {
      ...(json as Record<string, unknown>),
      emulated: accel === "tcg",
      matrix: { kernel: kernel.release, image: kernel.image, accel, qemu, cpus: o.cpus, memoryMiB: o.memoryMiB },
    };
    outcome.file = join(o.out, `${name}.json`);
    writeFileSync(outcome.file, JSON.stringify(stamped, null, 2) + "\n");
    outcome.detail = describeOutput(stamped);
    outcome.bench = (json as { schema?: unknown }).schema === "ringpoll.bench.v1";
  } else {
    outcome.file = join(o.out, `${name}.txt`);
    writeFileSync(outcome.file, data);
    outcome.detail = data.toString("utf8").trim().split("\n").at(-1)?.slice(0, 100) ?? "";
  }
  return outcome;
}

function summarize(outcomes: KernelOutcome[], accel: Accel, io: MatrixIo): void {
  const rows = outcomes.map((x) => [
    x.kernel.release,
    x.accel,
    x.seconds.toFixed(1),
    x.exit === null ? "failed" : x.exit === 0 ? "ok" : `exit ${x.exit}`,
    x.file ?? "–",
  ]);
  const head = ["kernel", "accel", "seconds", "status", "result"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  io.print(fmt(head));
  for (const [i, r] of rows.entries()) {
    io.print(fmt(r));
    const x = outcomes[i]!;
    if (x.detail) io.print(`  ${x.detail}`);
    if (x.failure) io.print(`  ${x.failure}`);
  }
  if (accel === "tcg") io.print(EMULATED_LABEL);
}

async function compareBench(outcomes: KernelOutcome[], io: MatrixIo): Promise<void> {
  const files = outcomes.filter((x) => x.bench && x.file !== null).map((x) => x.file!);
  if (files.length < 2) return;
  const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
  if (!existsSync(fileURLToPath(new URL("../commands/compare.js", import.meta.url)))) {
    io.print(`compare is not built here; compare later with: ringpoll compare ${files.join(" ")}`);
    return;
  }
  io.print("");
  io.print(`ringpoll compare ${files.join(" ")}`);
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [cli, "compare", ...files], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("close", () => resolve());
    child.on("error", (err) => {
      io.log(`compare failed to start: ${err.message}`);
      resolve();
    });
  });
}
