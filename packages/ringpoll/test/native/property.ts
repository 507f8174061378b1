// Shared by the property tests (property-*.test.ts): fast-check parameters from the environment,
// and a tracker that checks every Promise settles once with a coded error.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { openFdCount } from "./helpers.js";

/**
 * fast-check parameters: RINGPOLL_FC_SEED (default: random, printed), RINGPOLL_FC_RUNS (default
 * `runs`, scaled by `weight`), RINGPOLL_FC_PATH (replay one failing case: fast-check prints it).
 */
export function fcParameters(name: string, runs: number, weight = 1): fc.Parameters<unknown> {
  const seed = process.env.RINGPOLL_FC_SEED !== undefined ? Number(process.env.RINGPOLL_FC_SEED) : Date.now() ^ (Math.random() * 2 ** 31);
  const numRuns = Math.max(1, Math.round((process.env.RINGPOLL_FC_RUNS !== undefined ? Number(process.env.RINGPOLL_FC_RUNS) : runs) * weight));
  const path = process.env.RINGPOLL_FC_PATH;
  outcomes.clear();
  console.log(`${name}: RINGPOLL_FC_SEED=${seed} RINGPOLL_FC_RUNS=${numRuns}${path ? ` RINGPOLL_FC_PATH=${path}` : ""}`);
  return { seed, numRuns, path };
}

/**
 * The run about to start, written where a crash (which prints nothing from fast-check) leaves it:
 * replay with RINGPOLL_FC_SEED and RINGPOLL_FC_PATH=<run index>.
 */
export class Progress {
  readonly file: string;
  #run = 0;
  constructor(
    name: string,
    readonly seed: number,
  ) {
    this.file = join(tmpdir(), `ringpoll-fc-${name}-${process.pid}.last`);
  }
  next(): void {
    writeFileSync(this.file, `RINGPOLL_FC_SEED=${this.seed} RINGPOLL_FC_PATH=${this.#run++}\n`);
  }
  get runs(): number {
    return this.#run;
  }
}

/** Outcomes by label ("read pipe: ECANCELED"), summed over a whole property run. */
export const outcomes = new Map<string, number>();
export const countOutcome = (key: string) => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const count = countOutcome;

/** The most frequent outcomes, one line, for the test's output. */
export function outcomeSummary(): string {
  return [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
}

const isCoded = (e: unknown): boolean => e instanceof Error && typeof (e as { code?: unknown }).code === "string" && (e as { code: string }).code.length > 0;

/** Fails with what was received when `err` has no `code` string. */
export function requireCode(err: unknown, what: string): void {
  if (!isCoded(err)) throw new Error(`${what}: error without a code: ${err instanceof Error ? err.stack : String(err)}`);
}

/** Runs `fn`; a synchronous throw must carry a code. Returns the value or undefined. */
export function attempt<T>(what: string, fn: () => T): T | undefined {
  try {
    const v = fn();
    if (!(v instanceof Promise)) count(`${what}: ok`);
    return v;
  } catch (err) {
    requireCode(err, what);
    count(`${what}: throws ${(err as { code: string }).code}`);
    return undefined;
  }
}

interface Tracked {
  label: string;
  settled: number;
}

/** Every Promise handed to track() must settle exactly once, and reject only with a coded error. */
export class Tracker {
  readonly #all: Tracked[] = [];
  readonly #done: Array<Promise<void>> = [];
  readonly failures: string[] = [];

  track<T>(label: string, p: Promise<T>, onValue?: (v: T) => void, onError?: (e: unknown) => void): Promise<T> {
    const t: Tracked = { label, settled: 0 };
    this.#all.push(t);
    this.#done.push(
      p.then(
        (v) => {
          if (++t.settled > 1) this.failures.push(`${label} settled twice`);
          count(`${label.replace(/#\d+$/, "")}: ok`);
          try {
            onValue?.(v);
          } catch (err) {
            this.failures.push(`${label}: ${(err as Error).message}`);
          }
        },
        (e: unknown) => {
          if (++t.settled > 1) this.failures.push(`${label} settled twice`);
          count(`${label.replace(/#\d+$/, "")}: ${(e as { code?: string }).code}`);
          if (!isCoded(e)) this.failures.push(`${label} rejected without a code: ${e instanceof Error ? e.stack : String(e)}`);
          onError?.(e);
        },
      ),
    );
    return p;
  }

  /** Waits for every tracked Promise (at most `ms`); lists the ones that never settled. */
  async settle(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), ms)));
    const r = await Promise.race([Promise.all(this.#done).then(() => "ok" as const), deadline]);
    clearTimeout(timer);
    if (r === "late") {
      const open = this.#all.filter((t) => t.settled === 0).map((t) => t.label);
      this.failures.push(`never settled within ${ms} ms: ${open.join(", ")}`);
    }
  }

  check(): void {
    if (this.failures.length > 0) throw new Error(this.failures.join("\n"));
  }
}

/** A pause between commands: a microtask, a loop turn, or a 1 ms timer. */
export function tick(how: "micro" | "immediate" | "timer"): Promise<void> {
  if (how === "micro") return Promise.resolve();
  return new Promise((r) => (how === "immediate" ? setImmediate(r) : setTimeout(r, 1)));
}

export interface Sequence<C> {
  run(c: C): unknown;
  /** close everything, wait for every Promise, check the sequence's accounting */
  finish(): Promise<void>;
}

/**
 * The property every file checks: for random command sequences, running them on what `start()`
 * opened and then finish() neither crashes nor throws an uncoded error, and leaves no fd open.
 */
export async function checkSequences<C extends { k: string }>(
  name: string,
  command: fc.Arbitrary<C>,
  options: { runs: number; weight?: number; maxLength: number },
  start: () => Sequence<C> | Promise<Sequence<C>>,
): Promise<void> {
  if ((globalThis as { gc?: unknown }).gc === undefined) throw new Error("tests run with --expose-gc (vitest.config.ts)");
  const params = fcParameters(name, options.runs, options.weight);
  const progress = new Progress(name, params.seed!);
  // Once first, so lazily opened fds (libuv's, node's) are not counted as leaks.
  await (await start()).finish();
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: options.maxLength }), async (commands) => {
      progress.next();
      const baseline = openFdCount();
      const s = await start();
      for (const c of commands) {
        try {
          await s.run(c);
        } catch (err) {
          requireCode(err, c.k);
        }
      }
      await s.finish();
      await fdsBackTo(baseline, `${name} sequence`);
    }),
    params as fc.Parameters<[C[]]>,
  );
  console.log(`${name}: ${progress.runs} sequences passed; outcomes: ${outcomeSummary()}`);
}

/** The open fd count returns to `baseline` (garbage collections and loop turns in between). */
export async function fdsBackTo(baseline: number, what: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  // Dropped objects close their fds in finalizers, which run after a GC and a loop turn.
  for (let i = 0; i < 200 && openFdCount() > baseline; i++) {
    if (i % 4 === 0) gc();
    await new Promise((r) => (i < 20 ? setImmediate(r) : setTimeout(r, 5)));
  }
  const now = openFdCount();
  if (now > baseline) throw new Error(`${what}: ${now - baseline} fd(s) outlived the objects (baseline ${baseline}, now ${now})`);
}
