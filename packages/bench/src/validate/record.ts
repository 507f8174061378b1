// validate:stats recording: separate sessions (one result file each, `gap` seconds apart) so the
// analysis sees both the noise within a session and the noise between sessions. The injected work is
// re-fitted after every session so its effect on CPU per packet converges on the one asked for
// (bench/ab/inject-effect.ts). Everything is written as it comes: a cut-short collection still leaves
// every finished session on disk.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EffectFit, type EffectStep } from "../ab/inject-effect.js";
import { BadInput } from "../compare/input.js";
import { calibrateInject, type PpsBase } from "../ab/pps-sides.js";
import { runValue } from "../compare/metric.js";
import { captureEnv } from "../env.js";
import type { Run } from "../schema.js";
import { recordSession, type SideDef } from "./session.js";

export interface RecordOptions {
  receiver: string;
  inject: number[];
  baseNs: number;
  sessions: number;
  rounds: number;
  gapSeconds: number;
  /** stop starting sessions after this many seconds in all */
  budgetSeconds: number;
  out: string;
  /** calibration.json of an earlier collection: its batches start the fit */
  seedFit?: string;
  /** add to the sessions already in `out` (numbering goes on; the fit starts from its calibration.json) */
  resume?: boolean;
}

/** Session files already in a collection's sessions/ folder. */
export function sessionFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^\d+\.json$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Values of A and of the injected side in the rounds where both have CPU per packet. */
function paired(a: Run[], b: Run[]): [number[], number[]] {
  const byRound = new Map(b.map((r) => [r.round, r]));
  const x: number[] = [];
  const y: number[] = [];
  for (const r of a) {
    const [va, vb] = [runValue(r, "cpuNsPerPacket"), byRound.has(r.round) ? runValue(byRound.get(r.round)!, "cpuNsPerPacket") : "none"];
    if (typeof va === "number" && typeof vb === "number") {
      x.push(va);
      y.push(vb);
    }
  }
  return [x, y];
}

/** Batches of an earlier calibration.json (this format, or the per-injection one of the first collection). */
function seedSteps(path: string): EffectStep[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new BadInput(`${path}: cannot read a calibration (${(err as Error).message})`);
  }
  const lists = Array.isArray(raw) ? raw.map((c: { steps?: unknown }) => c.steps) : [(raw as { steps?: unknown }).steps];
  const steps = lists.flatMap((l) => (Array.isArray(l) ? l : [])) as EffectStep[];
  return steps.filter((s) => [s.injectNs, s.logEffect, s.se].every((v) => typeof v === "number" && Number.isFinite(v)));
}

export async function record(base: PpsBase, o: RecordOptions): Promise<void> {
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const dir = join(o.out, "sessions");
  const earlier = sessionFiles(dir);
  // sessions of another collection left in the folder would be analysed with this one's
  if (earlier.length && !o.resume) throw new BadInput(`${dir} holds ${earlier.length} sessions already: give --resume to add to them, or another --out`);
  mkdirSync(dir, { recursive: true });
  const first = earlier.length ? Number(earlier[earlier.length - 1]!.slice(0, -5)) + 1 : 0;
  const previous = join(o.out, "calibration.json");
  const resumed = o.resume && existsSync(previous) ? (JSON.parse(readFileSync(previous, "utf8")) as { nominalNsPerPercent?: unknown }) : null;
  let nominal = typeof resumed?.nominalNsPerPercent === "number" ? resumed.nominalNsPerPercent : await calibrateInject(base, o.receiver, 1, o.baseNs);
  // a window without packets or CPU time gives no guess: fall back to 10 ns per percent
  if (!(nominal > 0)) nominal = 10;
  const fit = new EffectFit(nominal);
  for (const seed of [o.seedFit, resumed ? previous : undefined]) if (seed) for (const step of seedSteps(seed)) fit.addStep(step);
  const env = () => captureEnv({ sender: base.cpuSender, receiver: base.cpuReceiver }, base.senders + 1);
  let perSession = 0;
  for (let i = 0; i < o.sessions; i++) {
    if (i > 0 && elapsed() + o.gapSeconds + perSession > o.budgetSeconds) {
      console.error(`validate:stats: budget ${o.budgetSeconds} s reached after ${i} sessions`);
      break;
    }
    if (i > 0) await sleep(o.gapSeconds * 1000);
    const sides: SideDef[] = [
      { name: "A", injectPercent: 0, injectNs: 0 },
      { name: "A′", injectPercent: 0, injectNs: 0 },
      ...o.inject.map((p) => ({ name: `+${p} %`, injectPercent: p, injectNs: fit.nsFor(p) })),
    ];
    const t0 = elapsed();
    const file = await recordSession(base, { receiver: o.receiver, sides, baseNs: o.baseNs, rounds: o.rounds, budgetSeconds: Infinity, env });
    perSession = elapsed() - t0;
    writeFileSync(join(dir, `${String(first + i).padStart(3, "0")}.json`), JSON.stringify(file) + "\n");
    const a = file.results[0].runs;
    o.inject.forEach((_, j) => fit.add(sides[2 + j].injectNs, ...paired(a, file.results[2 + j].runs), true));
    const next = Object.fromEntries(o.inject.map((p) => [p, fit.nsFor(p)]));
    writeFileSync(join(o.out, "calibration.json"), JSON.stringify({ nominalNsPerPercent: nominal, slope: fit.slope, next, steps: fit.steps }, null, 2) + "\n");
    const fitted = o.inject.map((p) => `+${p} %: ${next[p].toFixed(0)} ns next`).join(", ");
    console.error(`validate:stats: session ${i + 1}/${o.sessions}${first ? ` (${first + i + 1} in the collection)` : ""}: ${a.length} rounds in ${perSession.toFixed(0)} s (${elapsed().toFixed(0)} s in all); ${fitted}`);
  }
}
