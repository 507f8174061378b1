// The host's noise profile: how much sessions of one host differ beyond the noise within a session,
// measured by `ringpoll calibrate` from A/A sessions and stored with its date and host facts. compare
// uses it when a side has a single session (a kernel comparison across a reboot).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { dirname, join } from "node:path";
import { BadInput } from "./input.js";
import type { MetricName } from "./metric.js";

export const PROFILE_SCHEMA = "ringpoll.noise.v1";

export interface ProfileEntry {
  scenario: string;
  receiver: string;
  params: Record<string, unknown>;
  metric: MetricName;
  /** variances of log values (ln units²) */
  within: number;
  between: number;
  dfBetween: number;
  sessions: number;
  runs: number;
}

export interface NoiseProfile {
  schema: typeof PROFILE_SCHEMA;
  createdAt: string;
  host: { hostname: string; cpu: string | null; kernel: string | null; nproc: number | null };
  /** the result files the profile was computed from */
  files: string[];
  entries: ProfileEntry[];
}

export interface LoadedProfile {
  path: string;
  profile: NoiseProfile;
}

/** $RINGPOLL_NOISE_PROFILE, else $XDG_CONFIG_HOME/ringpoll/noise-profile.json (~/.config by default). */
export function defaultProfilePath(): string {
  if (process.env.RINGPOLL_NOISE_PROFILE) return process.env.RINGPOLL_NOISE_PROFILE;
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "ringpoll", "noise-profile.json");
}

export function thisHost(cpu: string | null, kernel: string | null, nproc: number | null): NoiseProfile["host"] {
  return { hostname: hostname(), cpu, kernel, nproc };
}

function isEntry(e: unknown): e is ProfileEntry {
  const x = e as Record<string, unknown> | null;
  return (
    x !== null &&
    typeof x === "object" &&
    typeof x.scenario === "string" &&
    typeof x.receiver === "string" &&
    typeof x.metric === "string" &&
    [x.within, x.between, x.dfBetween].every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0) &&
    (x.dfBetween as number) >= 1
  );
}

/** null when `required` is false and there is no file. */
export function loadProfile(path: string, required: boolean): LoadedProfile | null {
  if (!required && !existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BadInput(`${path}: ${e.code ? `cannot read (${e.code})` : `not JSON (${e.message})`}`);
  }
  const p = raw as Partial<NoiseProfile> | null;
  if (p === null || typeof p !== "object" || p.schema !== PROFILE_SCHEMA) throw new BadInput(`${path}: not a ${PROFILE_SCHEMA} noise profile (write one with ringpoll calibrate)`);
  if (!Array.isArray(p.entries) || !p.entries.every(isEntry)) throw new BadInput(`${path}: expected entries with scenario, receiver, metric and non-negative within, between, dfBetween ≥ 1`);
  if (typeof p.createdAt !== "string" || p.host === null || typeof p.host !== "object") throw new BadInput(`${path}: expected createdAt and host`);
  return { path, profile: p as NoiseProfile };
}

export function saveProfile(path: string, profile: NoiseProfile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(profile, null, 2) + "\n");
}

/** The entry for this scenario/receiver/metric, else one of the same scenario and metric (with a note saying so). */
export function findEntry(p: LoadedProfile, scenario: string, receiver: string, metric: MetricName): { entry: ProfileEntry; note: string | null } | null {
  const same = p.profile.entries.filter((e) => e.scenario === scenario && e.metric === metric);
  const exact = same.find((e) => e.receiver === receiver);
  if (exact) return { entry: exact, note: null };
  if (same.length === 0) return null;
  return { entry: same[0], note: `the noise profile has no ${receiver} entry; used the ${same[0].receiver} one` };
}
