// matrix --interleave: every kernel boots once and stays up; the bench runs in rounds, one run per
// guest per round, the order alternating (A B, B A, …) so slow drift of the host hits both sides
// alike and each round is a pair. The host's load is recorded around every run.
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { resultKey } from "../compare/match.js";
import { headlineMetric } from "../compare/metric.js";
import { summarize as summarizeRuns } from "../pps/run.js";
import { newSession, SCHEMAS_READ, type ResultFile, type Run, type ScenarioResult } from "../schema.js";
import { Guest, GuestFailure, socketPath } from "./guest.js";
import { retryBootPanic } from "./qemu.js";
import { loadBetween, snapshot, type HostLoad } from "./host-load.js";
import { jobScript, roundArgs } from "./job.js";
import { pairedReport } from "./paired.js";
import type { Kernel } from "./kernels.js";
import { EMULATED_LABEL, fileName, scratchDisk, type MatrixIo, type MatrixOptions, type Prepared } from "./runner.js";
import { emitReport } from "../commands/compare.js";

export interface RoundRecord extends HostLoad {
  round: number;
  /** place of this guest's run in the round's order (0 = first) */
  slot: number;
  /** 0-based position of this run in the session (round × kernels + place in the round's order) */
  position: number;
  seconds: number;
}

/** One kernel's side of the session. */
export interface Side {
  kernel: Kernel;
  injectPercent: number;
  /** host CPUs its vCPUs are pinned to, null when not pinned */
  hostCpus: number[] | null;
  file: ResultFile | null;
  rounds: RoundRecord[];
}

/** Kernel order of a round: as given in even rounds, reversed in odd ones. */
export function roundOrder(n: number, round: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return round % 2 === 0 ? order : order.reverse();
}

/**
 * Host CPUs per guest: disjoint sets when the host has cpus × guests of them, else the same first
 * `cpus` for every guest (they take turns, so they do not compete), else none.
 */
export function hostCpuSets(guests: number, cpus: number, hostCpus: number): { sets: (number[] | null)[]; note: string } {
  const range = (from: number): number[] => Array.from({ length: cpus }, (_, i) => from + i);
  if (cpus * guests <= hostCpus) return { sets: Array.from({ length: guests }, (_, g) => range(g * cpus)), note: "each guest's vCPUs pinned to host CPUs of its own" };
  if (cpus <= hostCpus) return { sets: Array.from({ length: guests }, () => range(0)), note: `vCPU n of every guest pinned to host CPU n (the host has ${hostCpus} CPUs, not ${cpus * guests}; guests take turns)` };
  return { sets: Array.from({ length: guests }, () => null), note: `vCPUs not pinned: the host has ${hostCpus} CPUs, fewer than one guest's ${cpus}` };
}

/** Adds one round's result file to a side: runs get the session's round and the host load. */
export function addRound(side: Side, raw: unknown, record: RoundRecord): void {
  const schema = (raw as { schema?: unknown } | null)?.schema;
  if (raw === null || typeof raw !== "object" || !(SCHEMAS_READ as readonly unknown[]).includes(schema)) throw new Error(`${side.kernel.release}: round ${record.round} wrote no ringpoll result file`);
  const file = raw as ResultFile;
  const stamp = (r: Run): Run => ({
    ...r,
    round: record.round,
    slot: record.slot,
    extra: { ...r.extra, hostBusy: record.hostBusy, hostGuestsBusy: record.guestsBusy, hostOtherBusy: record.otherBusy, hostLoad1: record.load1 },
  });
  if (side.file === null) side.file = { ...file, results: file.results.map((r) => ({ ...r, runs: r.runs.map(stamp) })) };
  else {
    const byKey = new Map(side.file.results.map((r) => [resultKey(r), r]));
    for (const r of file.results) {
      const seen = byKey.get(resultKey(r));
      if (seen) seen.runs.push(...r.runs.map(stamp));
      else side.file.results.push({ ...r, runs: r.runs.map(stamp) });
    }
  }
  side.rounds.push(record);
}

function resummarize(results: ScenarioResult[]): ScenarioResult[] {
  return results.map((r) => ({ ...r, summary: summarizeRuns(r.runs, headlineMetric(r.scenario) as "pps" | "tps" | "iops") }));
}

export async function runInterleaved(p: Prepared, o: MatrixOptions, io: MatrixIo, signal: AbortSignal): Promise<number> {
  const { kernels, accel } = p;
  const session = newSession(true);
  const { sets, note } = hostCpuSets(kernels.length, o.cpus, availableParallelism());
  io.log(`interleave: ${kernels.length} guests, ${o.rounds} rounds; ${note}`);
  const sides: Side[] = kernels.map((kernel, i) => ({ kernel, injectPercent: o.inject?.kernel === i ? o.inject.percent : 0, hostCpus: sets[i]!, file: null, rounds: [] }));
  const guests: Guest[] = [];
  let failure: string | null = null;
  try {
    const started = await Promise.allSettled(
      kernels.map((kernel, i) => {
        const job = jobScript({ kind: "ringpoll", args: roundArgs(o.args, sides[i]!.injectPercent), sysctls: o.sysctls, emulated: accel === "tcg", serve: true });
        io.log(`booting ${kernel.release} (${accel}, ${o.cpus} CPUs, ${o.memoryMiB} MiB${sides[i]!.hostCpus ? `, host CPUs ${sides[i]!.hostCpus!.join(",")}` : ""})`);
        const start = (): Promise<Guest> =>
          Guest.start(
            kernel.release,
            {
              qemu: p.qemu,
              image: kernel.image,
              initrd: p.initrd,
              accel,
              cpus: o.cpus,
              memoryMiB: o.memoryMiB,
              disk: scratchDisk(p.work, `nvme-${i}`, o.diskMiB),
              job,
              timeoutMs: o.timeoutS * 1000,
              onConsole: o.echo ? (l) => io.log(`[${kernel.version}] ${l}`) : undefined,
              signal,
              hostCpus: sides[i]!.hostCpus ?? undefined,
            },
            socketPath(p.work, i),
          );
        const panicked = (r: Guest | Error): string | null => (r instanceof GuestFailure && r.bootPanic ? r.message : null);
        return retryBootPanic(start, panicked, io.log, signal);
      }),
    );
    for (const s of started) if (s.status === "fulfilled") guests.push(s.value);
    const refused = started.find((s) => s.status === "rejected");
    if (refused) throw (refused as PromiseRejectedResult).reason;
    if (signal.aborted) return 130;

    for (let round = 0; round < o.rounds && failure === null; round++) {
      const order = roundOrder(kernels.length, round);
      for (const [place, i] of order.entries()) {
        const guest = guests[i]!;
        const cpu = (): number => guests.reduce((s, g) => s + g.cpuSeconds(), 0);
        const before = snapshot(cpu());
        const out = await guest.run(round, o.timeoutS * 1000);
        const load = loadBetween(before, snapshot(cpu()));
        if (signal.aborted) return 130;
        const record: RoundRecord = { round, slot: place, position: round * kernels.length + place, seconds: out.seconds, ...load };
        io.log(
          `round ${round + 1}/${o.rounds} ${kernels[i]!.release}: exit ${out.exit}, ${out.seconds.toFixed(1)} s; host busy ${pct(load.hostBusy)} (guests ${pct(load.guestsBusy)}, other ${pct(load.otherBusy)}), load ${load.load1.toFixed(2)}`,
        );
        const data = out.frames.get("result");
        if (out.exit !== 0 || data === undefined) {
          failure = `${kernels[i]!.release}: round ${round + 1} failed: ${out.error ?? (out.exit !== 0 ? `exit ${out.exit}` : "no result file")}`;
          break;
        }
        let raw: unknown;
        try {
          raw = JSON.parse(data.toString("utf8"));
        } catch {
          failure = `${kernels[i]!.release}: round ${round + 1} sent a result that is not JSON`;
          break;
        }
        addRound(sides[i]!, raw, record);
      }
    }
  } catch (err) {
    if (signal.aborted) return 130;
    failure = (err as Error).message;
    if (err instanceof GuestFailure) {
      io.log(`${failure}; last console lines:`);
      for (const l of err.console) io.log(`  ${l}`);
    }
    for (const g of guests) {
      io.log(`${g.name}: last console lines:`);
      for (const l of g.consoleTail()) io.log(`  ${l}`);
    }
  } finally {
    await Promise.all(guests.map((g) => g.stop()));
  }
  if (signal.aborted) return 130;
  if (failure !== null) io.log(`ringpoll matrix: ${failure}`);

  // one session for every kernel's file: compare and report pair their runs by round
  for (const s of sides) if (s.file) Object.assign(s.file, { session, emulated: accel === "tcg", results: resummarize(s.file.results) });
  const files = writeSides(sides, p, o, session.id);
  io.print(`interleaved session ${session.id}: ${Math.min(...sides.map((s) => s.rounds.length))} complete rounds`);
  for (const [i, s] of sides.entries()) {
    io.print(`  ${s.kernel.release}${s.injectPercent > 0 ? ` (+${s.injectPercent} % injected)` : ""}: ${files[i] ?? "no result"}`);
  }
  if (accel === "tcg") io.print(EMULATED_LABEL);
  if (sides.every((s) => s.file !== null) && sides.length > 1) {
    io.print("");
    emitReport(pairedReport(sides, files as string[], { force: o.force, targetPercent: 1.5, maxOtherBusy: o.maxOtherBusy }), {});
  }
  return failure === null ? 0 : 1;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}

function writeSides(sides: Side[], p: Prepared, o: MatrixOptions, session: string): (string | null)[] {
  const taken = new Set<string>();
  return sides.map((s, i) => {
    if (s.file === null) return null;
    const path = join(o.out, `${fileName(s.kernel.release, taken)}.json`);
    const stamped = {
      ...s.file,
      matrix: {
        kernel: s.kernel.release,
        image: s.kernel.image,
        accel: p.accel,
        qemu: p.version,
        cpus: o.cpus,
        memoryMiB: o.memoryMiB,
        hostCpus: s.hostCpus,
        injectPercent: s.injectPercent,
        interleave: { session, kernels: sides.map((x) => x.kernel.release), side: i, rounds: s.rounds },
      },
    };
    writeFileSync(path, JSON.stringify(stamped, null, 2) + "\n");
    return path;
  });
}
