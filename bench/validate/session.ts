// One long interleaved session for validate:stats: every round measures A, A′ (the same
// configuration) and each injected slowdown once, in an order rotated by round.
import type { Run } from "../schema.js";
import { ppsSide, type PpsBase } from "../ab/pps-sides.js";
import type { SessionRuns } from "./analyse.js";

export interface SessionOptions {
  receiver: string;
  inject: number[];
  /** work added to every packet on every side, ns */
  baseNs: number;
  rounds: number;
  budgetSeconds: number;
  onRound?: (round: number, seconds: number) => void;
}

export interface Session extends SessionRuns {
  rounds: number;
  seconds: number;
  injectNs: Map<number, number>;
}

export async function runSession(base: PpsBase, opts: SessionOptions): Promise<Session> {
  const start = performance.now();
  const side = (label: string, inject: number) => ppsSide(label, { receiver: opts.receiver, inject }, base, opts.baseNs);
  const a = await side("A", 0);
  const aa = await side("A′", 0);
  const injected: { p: number; side: Awaited<ReturnType<typeof side>> }[] = [];
  for (const p of opts.inject) injected.push({ p, side: await side(`+${p} %`, p) });
  const sides = [{ side: a, runs: [] as Run[] }, { side: aa, runs: [] as Run[] }, ...injected.map(({ side }) => ({ side, runs: [] as Run[] }))];
  const elapsed = () => (performance.now() - start) / 1000;
  let rounds = 0;
  const measureStart = elapsed();
  while (rounds < opts.rounds) {
    const perRound = rounds ? (elapsed() - measureStart) / rounds : 0;
    if (rounds >= 2 && elapsed() + perRound > opts.budgetSeconds) break;
    for (let i = 0; i < sides.length; i++) {
      const s = sides[(i + rounds) % sides.length];
      s.runs.push(await s.side.measure(rounds));
    }
    rounds++;
    opts.onRound?.(rounds, elapsed());
  }
  return {
    a: sides[0].runs,
    aa: sides[1].runs,
    injected: new Map(opts.inject.map((p, i) => [p, sides[2 + i].runs])),
    rounds,
    seconds: elapsed(),
    injectNs: new Map(injected.map(({ p, side }) => [p, side.injectNs - opts.baseNs])),
  };
}
