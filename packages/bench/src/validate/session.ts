// One validate:stats session: every round measures each side once (A, A′ = the same configuration,
// and each injected slowdown), in an order rotated by round, and the session is one v2 result file.
import type { Run, ResultFile, Session } from "../schema.js";
import { newSession, SCHEMA } from "../schema.js";
import { ppsSide, type PpsBase } from "../ab/pps-sides.js";
import { summarize } from "../pps/run.js";
import type { BenchEnv } from "../env.js";

export interface SideDef {
  /** "A", "A′" or "+1.5 %" */
  name: string;
  /** asked-for effect, percent (0 for A and A′) */
  injectPercent: number;
  /** extra work per packet, ns (calibrated) */
  injectNs: number;
}

export interface SessionOptions {
  receiver: string;
  sides: SideDef[];
  /** work added to every packet on every side, ns */
  baseNs: number;
  rounds: number;
  budgetSeconds: number;
  env: () => BenchEnv;
  onRound?: (round: number, seconds: number) => void;
}

export async function recordSession(base: PpsBase, opts: SessionOptions): Promise<ResultFile> {
  const session: Session = newSession(true);
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const sides = [];
  for (const def of opts.sides) {
    sides.push({ def, side: await ppsSide(def.name, { receiver: opts.receiver, inject: 0 }, base, opts.baseNs + def.injectNs), runs: [] as Run[] });
  }
  let rounds = 0;
  while (rounds < opts.rounds) {
    const perRound = rounds ? elapsed() / rounds : 0;
    if (rounds >= 2 && elapsed() + perRound > opts.budgetSeconds) break;
    for (let i = 0; i < sides.length; i++) {
      const s = sides[(i + rounds) % sides.length];
      s.runs.push({ ...(await s.side.measure(rounds)), slot: i });
    }
    rounds++;
    opts.onRound?.(rounds, elapsed());
  }
  const env = opts.env();
  return {
    schema: SCHEMA,
    createdAt: new Date().toISOString(),
    session,
    tool: { name: "ringpoll", version: env.versions.ringpoll, commit: env.versions.commit },
    emulated: env.emulated,
    env,
    results: sides.map(({ def, runs }) => ({
      scenario: "pps" as const,
      receiver: opts.receiver,
      params: { validateSide: def.name, injectPercent: def.injectPercent, injectNs: def.injectNs, baseWork: opts.baseNs, flows: base.flows, size: base.size, duration: base.duration },
      runs,
      summary: summarize(runs, "pps"),
    })),
  };
}
