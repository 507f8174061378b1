// Reading result files for compare, ab and report: anything that is not a ringpoll.bench result file
// (v1 or v2) is refused with a message that names the file and what is wrong (CLI exit code 2).
import { readFileSync, statSync } from "node:fs";
import { SCHEMAS_READ, type ResultFile } from "../schema.js";

/** Result files are kilobytes to a few megabytes; anything this large is not one (and would exhaust memory). */
export const MAX_RESULT_BYTES = 64 << 20;

export class BadInput extends Error {
  override name = "BadInput";
}

export interface LoadedFile {
  path: string;
  data: ResultFile;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

/** Checks the shape compare/report rely on; returns the file typed. */
export function checkResultFile(path: string, raw: unknown): ResultFile {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new BadInput(`${path}: expected a JSON object but found ${describe(raw)}`);
  const file = raw as Partial<ResultFile> & { schema?: unknown };
  if (!(SCHEMAS_READ as readonly unknown[]).includes(file.schema)) {
    throw new BadInput(`${path}: expected schema ${SCHEMAS_READ.join(" or ")} but found ${describe(file.schema)} (a file from another ringpoll version or another tool)`);
  }
  if (file.session !== undefined) {
    const s = file.session as unknown as Record<string, unknown> | null;
    if (s === null || typeof s !== "object" || Array.isArray(s)) throw new BadInput(`${path}: expected an object for session but found ${describe(s)}`);
    if (typeof s.id !== "string" || s.id === "") throw new BadInput(`${path}: expected a non-empty string for session.id but found ${describe(s.id)}`);
    if (typeof s.interleaved !== "boolean") throw new BadInput(`${path}: expected a boolean for session.interleaved but found ${describe(s.interleaved)}`);
  }
  if (!Array.isArray(file.results)) throw new BadInput(`${path}: expected an array for results but found ${describe(file.results)}`);
  file.results.forEach((r, i) => {
    const where = `${path}: results[${i}]`;
    if (r === null || typeof r !== "object") throw new BadInput(`${where}: expected an object but found ${describe(r)}`);
    if (typeof r.scenario !== "string") throw new BadInput(`${where}: expected a string for scenario but found ${describe(r.scenario)}`);
    if (typeof r.receiver !== "string") throw new BadInput(`${where}: expected a string for receiver but found ${describe(r.receiver)}`);
    if (r.params === null || typeof r.params !== "object" || Array.isArray(r.params)) throw new BadInput(`${where}: expected an object for params but found ${describe(r.params)}`);
    if (!Array.isArray(r.runs)) throw new BadInput(`${where}: expected an array for runs but found ${describe(r.runs)}`);
  });
  return file as ResultFile;
}

export function loadResultFile(path: string): LoadedFile {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_RESULT_BYTES) throw new BadInput(`${path}: ${(size / 2 ** 20).toFixed(0)} MiB is too large for a result file (limit ${MAX_RESULT_BYTES / 2 ** 20} MiB)`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof BadInput) throw err;
    throw new BadInput(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BadInput(`${path}: not JSON (${(err as Error).message})`);
  }
  return { path, data: checkResultFile(path, raw) };
}
