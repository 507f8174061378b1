// Result files too large to read whole (a long soak, 600k runs): streamed with a JSON tokenizer,
// keeping per run only the figures the report uses, never the per-second samples or extras. Memory
// grows with the number of runs (a few hundred bytes each), not with the file.
import { createReadStream } from "node:fs";
import { JSONParser } from "@streamparser/json";
import type { Run } from "../schema.js";
import { BadInput } from "../compare/input.js";

/** Files above this are streamed and summarised; a normal result file is kilobytes. */
export const STREAM_BYTES = 16 << 20;

const TOP = ["schema", "createdAt", "session", "tool", "emulated", "env"];
// what the comparisons and charts use; the kernel counters and busy fraction are not shown
const KEPT: readonly (keyof Run)[] = ["round", "slot", "pps", "tps", "iops", "packets", "seconds", "cpuNsPerPacket"];

/** A run reduced to the report's figures; anything that is not an object is kept as it is (and refused later). */
function slim(run: unknown): unknown {
  if (run === null || typeof run !== "object" || Array.isArray(run)) return run;
  const r = run as Record<string, unknown>;
  return Object.fromEntries(KEPT.filter((k) => k in r).map((k) => [k, r[k]]));
}

export interface Streamed {
  raw: Record<string, unknown>;
  runs: number;
}

export function streamResultFile(path: string): Promise<Streamed> {
  const paths = [...TOP.map((k) => `$.${k}`), "$.results.*.scenario", "$.results.*.receiver", "$.results.*.params", "$.results.*.summary", "$.results.*.runs.*"];
  const parser = new JSONParser({ paths, keepStack: false });
  const raw: Record<string, unknown> = {};
  const results: Record<string, unknown>[] = [];
  let runs = 0;
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 1 && typeof key === "string") raw[key] = value;
    else if (stack.length >= 3 && stack[1]!.key === "results") {
      const i = Number(stack[2]!.key);
      const r = (results[i] ??= { runs: [] });
      if (stack.length === 4 && stack[3]!.key === "runs") {
        (r.runs as unknown[]).push(slim(value));
        runs++;
      } else if (stack.length === 3 && typeof key === "string") r[key] = value;
    }
  };
  return new Promise((resolve, reject) => {
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    const fail = (err: Error): void => {
      input.destroy();
      reject(err instanceof BadInput ? err : new BadInput(`${path}: not JSON (${err.message})`));
    };
    input.on("data", (chunk) => {
      try {
        parser.write(chunk as Buffer);
      } catch (err) {
        fail(err as Error);
      }
    });
    input.on("error", (err: NodeJS.ErrnoException) => reject(new BadInput(`${path}: cannot read (${err.code ?? err.message})`)));
    input.on("end", () => {
      if (!parser.isEnded) return fail(new Error("unexpected end of the file"));
      // a huge file without results is not told apart from one with none: both have nothing to show
      resolve({ raw: { ...raw, results: results.length ? results : undefined }, runs });
    });
  });
}
