// Environment capture: everything about the host that moves a PPS figure, plus warnings when the
// host is set up for noise.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { probe } from "ringpoll";

export interface Pinning {
  /** CPUs of the sending side (sender or udp-rr client threads) */
  sender: number[];
  /** CPU of the receiving side (receiver thread, server thread, or the Node main thread) */
  receiver: number;
}

export interface BenchEnv {
  kernel: { release: string; version: string };
  cpu: ReturnType<typeof probe>["cpu"];
  vulnerabilities: Record<string, string>;
  governor: string | null;
  boost: boolean | null;
  smt: { active: boolean | null; control: string | null };
  nproc: number;
  numaNodes: number;
  versions: { node: string; liburing: string; ringpoll: string; commit: string | null };
  pinning: Pinning;
  /** detected by probe: QEMU TCG (software emulation) */
  emulated: boolean;
  warnings: string[];
  [key: string]: unknown;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

function vulnerabilities(): Record<string, string> {
  const dir = "/sys/devices/system/cpu/vulnerabilities";
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) out[name] = read(`${dir}/${name}`) ?? "unreadable";
  return out;
}

/** intel_pstate no_turbo (inverted) or the generic cpufreq boost switch. */
function boost(): boolean | null {
  const noTurbo = read("/sys/devices/system/cpu/intel_pstate/no_turbo");
  if (noTurbo !== null) return noTurbo === "0";
  const b = read("/sys/devices/system/cpu/cpufreq/boost");
  return b === null ? null : b === "1";
}

/** CPUs sharing a core with `cpu` (itself included). */
export function siblings(cpu: number): number[] {
  const list = read(`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`);
  if (list === null) return [cpu];
  const out: number[] = [];
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

function numaNodes(): number {
  const dir = "/sys/devices/system/node";
  if (!existsSync(dir)) return 1;
  return readdirSync(dir).filter((n) => /^node\d+$/.test(n)).length || 1;
}

function gitCommit(root: URL): string | null {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return null;
  }
}

/** QEMU's TCG announces itself in cpuinfo's model name or the hypervisor vendor. */
function emulated(modelName: string): boolean {
  return /QEMU Virtual CPU|TCG/i.test(modelName);
}

export function captureEnv(pinning: Pinning, threads: number): BenchEnv {
  const p = probe();
  const root = new URL("..", import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { version: string };
  const governor = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  const smtActive = read("/sys/devices/system/cpu/smt/active");
  const env: BenchEnv = {
    kernel: p.kernel,
    cpu: p.cpu,
    vulnerabilities: vulnerabilities(),
    governor,
    boost: boost(),
    smt: { active: smtActive === null ? null : smtActive === "1", control: read("/sys/devices/system/cpu/smt/control") },
    nproc: availableParallelism(),
    numaNodes: numaNodes(),
    versions: { node: process.version, liburing: p.liburing, ringpoll: pkg.version, commit: gitCommit(root) },
    pinning,
    emulated: emulated(p.cpu.modelName),
    warnings: [],
  };
  env.warnings = warnings(env, threads);
  return env;
}

export function warnings(env: BenchEnv, threads: number): string[] {
  const w: string[] = [];
  if (env.governor !== null && env.governor !== "performance") w.push(`cpufreq governor is ${env.governor}, not performance`);
  if (env.governor === null) w.push("no cpufreq governor exposed (virtual machine?): frequency is not under control");
  if (env.boost === true) w.push("CPU boost/turbo is on: clock speed varies with load and temperature");
  const shared = env.pinning.sender.filter((c) => siblings(env.pinning.receiver).includes(c));
  if (shared.length > 0) w.push(`sender CPU(s) ${shared.join(",")} share a core with the receiver CPU ${env.pinning.receiver}`);
  if (env.nproc < threads) w.push(`${threads} bench threads on ${env.nproc} CPUs: threads compete for cores`);
  if (env.emulated) w.push("emulated CPU (QEMU TCG): timings are not comparable to hardware");
  return w;
}
