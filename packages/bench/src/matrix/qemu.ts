// Booting one guest: QEMU with the kernel, the initramfs, an emulated NVMe disk with a poll queue
// (nvme.poll_queues=1, so queue/io_poll is 1 and IOPOLL works for real), the console on stdout and
// a second serial port as the results channel. Also: finding QEMU and deciding between KVM and TCG.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { JOB_START, parseChannel } from "./channel.js";

const run = promisify(execFile);

export type Accel = "kvm" | "tcg";
export const QEMU = "qemu-system-x86_64";
/** x86's COMMAND_LINE_SIZE */
const MAX_CMDLINE = 2048;
const CONSOLE_LINES = 40;

export function findQemu(): string {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = join(dir, QEMU);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(`${QEMU} not found: install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86-core)`);
}

export async function qemuVersion(qemu: string): Promise<string> {
  const { stdout } = await run(qemu, ["--version"], { encoding: "utf8" });
  return /version (\S+)/.exec(stdout)?.[1] ?? "unknown";
}

/**
 * The kernel command line: quiet console on ttyS0, reboot (= QEMU exits) on panic, poll queues.
 * `serve`: the guest stays up and runs the job on each request from the host (matrix --interleave).
 */
export function kernelCmdline(job: string, serve = false): string {
  const encoded = Buffer.from(job).toString("base64");
  const line = `console=ttyS0 quiet loglevel=4 panic=-1 nvme.poll_queues=1 rdinit=/init${serve ? " ringpoll.serve=1" : ""} ringpoll.job=${encoded}`;
  if (line.length > MAX_CMDLINE) {
    throw new Error(`the guest command is too long for the kernel command line (${line.length} > ${MAX_CMDLINE} bytes); shorten it`);
  }
  return line;
}

export interface BootOptions {
  qemu: string;
  image: string;
  initrd: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  /** raw disk image behind the emulated NVMe device */
  disk: string;
  /** shell script the guest runs */
  job: string;
  timeoutMs: number;
  /** each console line of the job's phase (after the guest printed JOB_START) */
  onConsole?: (line: string) => void;
  signal?: AbortSignal;
  /** host CPUs QEMU may run on (taskset); each vCPU thread is then pinned to one of them */
  hostCpus?: number[];
}

export interface BootResult {
  /** the job's exit status; null when the guest never reported one */
  exit: number | null;
  frames: Map<string, Buffer>;
  /** why the guest ended without a status, for the message */
  failure: string | null;
  /** last console lines */
  console: string[];
  seconds: number;
  /** the kernel panicked before init started the job (see QemuProcess.panickedBooting) */
  bootPanic: boolean;
}

/** ttyS1, the results channel: a file the guest writes once, or a socket the host talks over. */
export type ChannelSpec = { file: string } | { socket: string };

export function qemuArgs(o: BootOptions, channel: ChannelSpec, serve = false): string[] {
  return [
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-no-reboot",
    // vCPU threads named "CPU <n>/TCG" (or /KVM), so they can be pinned one by one
    "-name", "ringpoll,debug-threads=on",
    "-accel", o.accel,
    "-cpu", o.accel === "kvm" ? "host" : "max",
    "-smp", String(o.cpus),
    "-m", String(o.memoryMiB),
    "-kernel", o.image,
    "-initrd", o.initrd,
    "-append", kernelCmdline(o.job, serve),
    "-serial", "stdio",
    ...("file" in channel
      ? ["-serial", `file:${channel.file}`]
      : ["-chardev", `socket,id=results,path=${channel.socket},server=on,wait=off`, "-serial", "chardev:results"]),
    "-drive", `file=${o.disk},if=none,id=nv,format=raw`,
    "-device", "nvme,serial=ringpoll,drive=nv",
    "-device", "virtio-rng-pci",
  ];
}

export interface QemuProcess {
  child: ChildProcess;
  /** last console lines */
  console: string[];
  /** why QEMU was killed or the guest failed, first reason wins */
  failure: () => string | null;
  /**
   * Whether the kernel panicked before init printed JOB_START: a fault of the emulated machine or of
   * the kernel's own boot (seen under TCG: sched_clock_cpu, "Fatal exception in interrupt"), not of the job.
   */
  panickedBooting: () => boolean;
  kill: (why: string) => void;
  /** (re)arms the kill timer; null disarms it */
  deadline: (ms: number | null, why?: string) => void;
  /** QEMU's exit, with a reason when it ended without being asked to */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts QEMU with these arguments: console lines, panic and KVM-failure detection, kill on abort. */
export function startQemu(o: BootOptions, args: string[]): QemuProcess {
  const lines: string[] = [];
  let partial = "";
  let inJob = false;
  let bootPanic = false;
  let failure: string | null = null;
  let stderr = "";
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const [cmd, argv] = o.hostCpus?.length ? ["taskset", ["-c", o.hostCpus.join(","), o.qemu, ...args]] : [o.qemu, args];
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  const kill = (why: string): void => {
    failure ??= why;
    child.kill("SIGKILL");
  };
  const onAbort = (): void => kill("interrupted");
  o.signal?.addEventListener("abort", onAbort, { once: true });
  if (o.signal?.aborted) onAbort();

  const line = (raw: string): void => {
    // drop the terminal escapes SeaBIOS and the kernel may emit
    const text = raw.replace(/\r/g, "").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\x1bc/g, "");
    lines.push(text);
    if (lines.length > CONSOLE_LINES) lines.shift();
    if (text.includes(JOB_START)) inJob = true;
    else if (inJob && !text.startsWith("@@ringpoll job end")) o.onConsole?.(text);
    if (/Kernel panic - not syncing/.test(text)) {
      bootPanic ||= !inJob && failure === null;
      failure ??= `kernel panic: ${text.replace(/^.*Kernel panic - not syncing:\s*/, "")}`;
    }
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const p of parts) line(p);
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    // a broken nested KVM dies with this and then spins; no point waiting for the timeout
    if (/KVM internal error|emulation failure/.test(stderr)) kill(`KVM failed: ${/KVM internal error[^\n]*/.exec(stderr)?.[0] ?? "emulation failure"}`);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
    child.on("close", (code, signal) => {
      ended = true;
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (partial !== "") line(partial);
      resolve({ code, signal, stderr });
    });
  });
  return {
    child,
    console: lines,
    failure: () => failure,
    panickedBooting: () => bootPanic,
    kill,
    deadline: (ms, why = "timed out") => {
      clearTimeout(timer);
      // armed after QEMU ended (a round asked of a dead guest), a timer would only keep the host waiting
      if (ms !== null && !ended) timer = setTimeout(() => kill(why), ms);
    },
    closed,
  };
}

/** Why QEMU ended when the guest never said: a reboot (panic, init died) or QEMU's own error. */
export function endReason(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const err = stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ");
  return code === 0 && !signal ? "the guest powered off without reporting a status (it rebooted: a panic or init died)" : `QEMU exited with ${signal ?? code}${err ? `: ${err}` : ""}`;
}

export async function boot(o: BootOptions): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), "ringpoll-qemu-"));
  const channel = join(dir, "channel");
  const started = Date.now();
  try {
    writeFileSync(channel, "");
    const q = startQemu(o, qemuArgs(o, { file: channel }));
    q.deadline(o.timeoutMs, `no result after ${o.timeoutMs / 1000} s (guest hung); QEMU killed`);
    const { code, signal, stderr } = await q.closed;
    let text = "";
    try {
      text = readFileSync(channel, "utf8");
    } catch {
      // no channel file: the guest reported nothing
    }
    const { frames, exit } = parseChannel(text);
    const failure = exit === null ? (q.failure() ?? endReason(code, signal, stderr)) : null;
    return { exit, frames, failure, console: q.console.slice(), seconds: (Date.now() - started) / 1000, bootPanic: exit === null && q.panickedBooting() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs start(); when the guest's kernel panicked while booting (before the job), says so and boots
 * once more: one such panic in a few hundred TCG boots is the emulator's, and a second one is reported.
 */
export async function retryBootPanic<T>(start: () => Promise<T>, panicked: (r: T | Error) => string | null, log: (line: string) => void, signal?: AbortSignal): Promise<T> {
  const first = await start().catch((err: Error) => err);
  const why = panicked(first);
  if (why === null || signal?.aborted) {
    if (first instanceof Error) throw first;
    return first;
  }
  log(`${why} while booting, before the job started; booting it once more`);
  return start();
}

/** Whether /dev/kvm is there and this user may open it. */
export function kvmDevice(): string | null {
  try {
    statSync("/dev/kvm");
  } catch {
    return "/dev/kvm does not exist";
  }
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return "/dev/kvm is not accessible to this user (add it to the kvm group)";
  }
  return null;
}

/**
 * Whether KVM really runs a guest here: /dev/kvm can open while nested guests die with "KVM internal
 * error … emulation failure", so boot a tiny job under KVM and see. Returns null when it works.
 */
export async function probeKvm(base: Omit<BootOptions, "accel" | "job" | "timeoutMs" | "onConsole">): Promise<string | null> {
  const noDevice = kvmDevice();
  if (noDevice !== null) return noDevice;
  const r = await boot({ ...base, accel: "kvm", job: "exit 0\n", timeoutMs: 60_000, cpus: 1 });
  if (r.exit === 0) return null;
  return r.failure ?? `the KVM test guest exited with ${r.exit}`;
}
