// Booting one guest: QEMU with the kernel, the initramfs, an emulated NVMe disk with a poll queue
// (nvme.poll_queues=1, so queue/io_poll is 1 and IOPOLL works for real), the console on stdout and
// a second serial port as the results channel. Also: finding QEMU and deciding between KVM and TCG.
import { execFile, spawn } from "node:child_process";
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

/** The kernel command line: quiet console on ttyS0, reboot (= QEMU exits) on panic, poll queues. */
export function kernelCmdline(job: string): string {
  const encoded = Buffer.from(job).toString("base64");
  const line = `console=ttyS0 quiet loglevel=4 panic=-1 nvme.poll_queues=1 rdinit=/init ringpoll.job=${encoded}`;
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
}

export function qemuArgs(o: BootOptions, channel: string): string[] {
  return [
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-no-reboot",
    "-accel", o.accel,
    "-cpu", o.accel === "kvm" ? "host" : "max",
    "-smp", String(o.cpus),
    "-m", String(o.memoryMiB),
    "-kernel", o.image,
    "-initrd", o.initrd,
    "-append", kernelCmdline(o.job),
    "-serial", "stdio",
    "-serial", `file:${channel}`,
    "-drive", `file=${o.disk},if=none,id=nv,format=raw`,
    "-device", "nvme,serial=ringpoll,drive=nv",
    "-device", "virtio-rng-pci",
  ];
}

export function boot(o: BootOptions): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), "ringpoll-qemu-"));
  const channel = join(dir, "channel");
  writeFileSync(channel, "");
  const started = Date.now();
  const lines: string[] = [];
  let partial = "";
  let inJob = false;
  let failure: string | null = null;
  let stderr = "";

  return new Promise<BootResult>((resolve, reject) => {
    let args: string[];
    try {
      args = qemuArgs(o, channel);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      return reject(err);
    }
    const child = spawn(o.qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
    const kill = (why: string): void => {
      failure ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => kill(`no result after ${o.timeoutMs / 1000} s (guest hung); QEMU killed`), o.timeoutMs);
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
      if (/Kernel panic - not syncing/.test(text)) failure ??= `kernel panic: ${text.replace(/^.*Kernel panic - not syncing:\s*/, "")}`;
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
    child.on("error", (err) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(err);
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (partial !== "") line(partial);
      let text = "";
      try {
        text = readFileSync(channel, "utf8");
      } catch {
        // no channel file: the guest reported nothing
      }
      rmSync(dir, { recursive: true, force: true });
      const { frames, exit } = parseChannel(text);
      if (exit === null && failure === null) {
        const err = stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ");
        failure = code === 0 && !sig ? "the guest powered off without reporting a status (it rebooted: a panic or init died)" : `QEMU exited with ${sig ?? code}${err ? `: ${err}` : ""}`;
      }
      resolve({ exit, frames, failure: exit === null ? failure : null, console: lines.slice(), seconds: (Date.now() - started) / 1000 });
    });
  });
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
