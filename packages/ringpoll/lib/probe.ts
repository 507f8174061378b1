// probe(): what this host is, as far as epoll/io_uring benchmarking cares.
import { readFileSync } from "node:fs";
import { release, version } from "node:os";
import { native } from "./native.js";
import { probeIoUring, type IoUringProbe } from "./uring-probe.js";

export interface CpuInfo {
  vendor: string;
  family: number;
  model: number;
  stepping: number | null;
  microcode: string | null;
  modelName: string;
  /** AMD Zen 2, by the kernel's own model table (arch/x86/kernel/cpu/amd.c) */
  zen2: boolean;
  /** Supervisor Mode Access Prevention: each user copy in the kernel pays stac/clac */
  smap: boolean;
}

export interface ProbeResult {
  kernel: { release: string; version: string };
  cpu: CpuInfo;
  node: string;
  liburing: string;
  ioUring: IoUringProbe;
}

// Zen 2 = family 0x17 with these model ranges (inclusive), as the kernel lists them.
const ZEN2_MODELS: ReadonlyArray<readonly [number, number]> = [
  [0x30, 0x4f],
  [0x60, 0x7f],
  [0x90, 0x91],
  [0xa0, 0xaf],
];

export function isZen2(vendor: string, family: number, model: number): boolean {
  return vendor === "AuthenticAMD" && family === 0x17 && ZEN2_MODELS.some(([lo, hi]) => model >= lo && model <= hi);
}

/** Fields of the first processor in /proc/cpuinfo (text given for tests). */
export function parseCpuinfo(text: string): CpuInfo {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (fields.size > 0) break;
      continue;
    }
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    if (!fields.has(key)) fields.set(key, line.slice(i + 1).trim());
  }
  const num = (key: string): number | null => {
    const v = fields.get(key);
    return v === undefined || v === "" ? null : Number.parseInt(v, 10);
  };
  const vendor = fields.get("vendor_id") ?? "unknown";
  const family = num("cpu family") ?? -1;
  const model = num("model") ?? -1;
  const flags = (fields.get("flags") ?? "").split(/\s+/);
  return {
    vendor,
    family,
    model,
    stepping: num("stepping"),
    microcode: fields.get("microcode") ?? null,
    modelName: fields.get("model name") ?? "unknown",
    zen2: isZen2(vendor, family, model),
    smap: flags.includes("smap"),
  };
}

export function probe(): ProbeResult {
  return {
    kernel: { release: release(), version: version() },
    cpu: parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8")),
    node: process.version,
    liburing: native.liburingVersion,
    ioUring: probeIoUring(),
  };
}
