// Result files with known effects for the compare/report tests: seeded log-normal noise around a mean.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResultFile, Run, ScenarioResult } from "../../src/schema.js";
import type { NoiseProfile } from "../../src/compare/profile.js";

/** mulberry32: small seeded PRNG so every test sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates (Box–Muller). */
export function normals(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** n values, log-normal with median `centre` and coefficient of variation about `cv`. */
export function sample(seed: number, n: number, centre: number, cv: number): number[] {
  const z = normals(seed);
  return Array.from({ length: n }, () => centre * Math.exp(cv * z()));
}

export function runs(values: number[], metric: "pps" | "tps" | "iops" = "pps", seconds = 2): Run[] {
  return values.map((v, round) => ({
    round,
    [metric]: v,
    packets: Math.round(v * seconds),
    seconds,
    cpuNsPerPacket: 1e9 / v,
    receiverBusy: 0.9,
    kernel: { InDatagrams: Math.round(v * seconds), OutDatagrams: Math.round(v * seconds), RcvbufErrors: 0, InErrors: 0 },
    samples: Array.from({ length: seconds }, () => v),
  }));
}

export function result(receiver: string, values: number[], over: Partial<ScenarioResult> = {}): ScenarioResult {
  return { scenario: "pps", receiver, params: { flows: 1, size: 64 }, runs: runs(values), summary: { median: 0, cv: 0 }, ...over };
}

export function resultFile(kernel: string, results: ScenarioResult[], over: Partial<ResultFile> = {}): ResultFile {
  return {
    schema: "ringpoll.bench.v1",
    createdAt: "2026-01-01T00:00:00.000Z",
    tool: { name: "ringpoll", version: "0.1.0", commit: null },
    emulated: false,
    env: { kernel: { release: kernel, version: "#1 SMP" }, warnings: [] },
    results,
    ...over,
  };
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), "ringpoll-test-"));
}

export function writeJson(dir: string, name: string, data: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(data));
  return path;
}

/**
 * A noise profile saying sessions of this host differ by `betweenPercent` (log-scale SD, percent):
 * with a tiny value, one-session-per-side comparisons behave like the plain Welch test.
 */
export function noiseProfile(dir: string, betweenPercent = 0.01, name = "noise-profile.json"): string {
  const entry = (scenario: string, metric: "pps" | "tps" | "iops" | "cpuNsPerPacket") => ({ scenario, receiver: "epoll", params: {}, metric, within: 0.02 ** 2, between: (betweenPercent / 100) ** 2, dfBetween: 1000, sessions: 1001, runs: 10010 });
  const profile: NoiseProfile = {
    schema: "ringpoll.noise.v1",
    createdAt: "2026-01-01T00:00:00.000Z",
    host: { hostname: "test", cpu: null, kernel: null, nproc: null },
    files: [],
    entries: [entry("pps", "pps"), entry("pps", "cpuNsPerPacket"), entry("udp-rr", "tps"), entry("udp-rr", "cpuNsPerPacket"), entry("iops", "iops"), entry("iops", "cpuNsPerPacket")],
  };
  return writeJson(dir, name, profile);
}
