// What `ringpoll report` reads: result files named one by one, or folders of them (a matrix --out,
// a results/ directory). A named file that is not a result is bad input (exit 2); in a folder, JSON
// that is not a ringpoll result (a probe, vitest's report) is skipped and listed.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BadInput, checkResultFile, loadResultFile, type LoadedFile } from "../compare/input.js";
import { STREAM_BYTES, streamResultFile } from "./stream.js";

export interface ReportInputs {
  files: LoadedFile[];
  /** folder entries that are not result files, and files that were streamed: said in the report */
  notes: string[];
  /** paths of files summarised while streaming (their runs carry no per-second samples) */
  streamed: Set<string>;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

// A run's figures: absent or null (not measured) or a finite number of at least 0. A negative one
// cannot come from a measurement, and charting it would draw a lie.
const FIGURES = ["pps", "tps", "iops", "packets", "seconds", "cpuNsPerPacket", "receiverBusy"] as const;

function checkFigures(where: string, run: Record<string, unknown>): void {
  for (const key of FIGURES) {
    const v = run[key];
    if (v === undefined || v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0)) continue;
    throw new BadInput(`${where}.${key}: expected a number of at least 0 but found ${typeof v === "number" ? v : describe(v)}`);
  }
  const samples = run.samples;
  if (samples === undefined) return;
  if (!Array.isArray(samples)) throw new BadInput(`${where}.samples: expected an array of numbers but found ${describe(samples)}`);
  const bad = (samples as unknown[]).findIndex((x) => !(typeof x === "number" && Number.isFinite(x) && x >= 0));
  if (bad >= 0) {
    const x: unknown = samples[bad];
    throw new BadInput(`${where}.samples[${bad}]: expected a number of at least 0 but found ${typeof x === "number" ? x : describe(x)}`);
  }
}

/** What the report reads beyond compare's checks: env and its warnings, every run an object with sane figures. */
export function checkForReport(f: LoadedFile): LoadedFile {
  const env = (f.data as { env?: unknown }).env;
  if (env === null || typeof env !== "object" || Array.isArray(env)) throw new BadInput(`${f.path}: expected an object for env but found ${describe(env)}`);
  const warnings = (env as { warnings?: unknown }).warnings;
  if (warnings !== undefined && !(Array.isArray(warnings) && warnings.every((w) => typeof w === "string"))) {
    throw new BadInput(`${f.path}: expected an array of strings for env.warnings but found ${Array.isArray(warnings) ? "an array with other values" : describe(warnings)}`);
  }
  f.data.results.forEach((r, i) =>
    r.runs.forEach((run, j) => {
      if (run === null || typeof run !== "object" || Array.isArray(run)) throw new BadInput(`${f.path}: results[${i}].runs[${j}]: expected an object but found ${describe(run)}`);
      checkFigures(`${f.path}: results[${i}].runs[${j}]`, run as unknown as Record<string, unknown>);
    }),
  );
  return f;
}

async function load(path: string, size: number, streamed: Set<string>, notes: string[]): Promise<LoadedFile> {
  if (size <= STREAM_BYTES) return checkForReport(loadResultFile(path));
  const s = await streamResultFile(path);
  streamed.add(path);
  notes.push(`${path}: ${(size / 2 ** 20).toFixed(0)} MiB, streamed: ${s.runs} runs summarised (figures per run kept; per-second samples and extras left out)`);
  return checkForReport({ path, data: checkResultFile(path, s.raw) });
}

const byName = new Intl.Collator("en", { numeric: true }).compare;

export async function readInputs(paths: readonly string[]): Promise<ReportInputs> {
  const files: LoadedFile[] = [];
  const notes: string[] = [];
  const streamed = new Set<string>();
  for (const path of paths) {
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      throw new BadInput(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!st.isDirectory()) {
      files.push(await load(path, st.size, streamed, notes));
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(path).filter((n) => n.endsWith(".json")).sort(byName);
    } catch (err) {
      throw new BadInput(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const before = files.length;
    for (const name of names) {
      const p = join(path, name);
      const size = statSync(p).size;
      try {
        files.push(await load(p, size, streamed, notes));
      } catch (err) {
        // another tool's JSON in the folder is skipped; a ringpoll result that is broken is not
        if (!(err instanceof BadInput) || !/expected schema|expected a JSON object/.test(err.message)) throw err;
        notes.push(`skipped ${p}: ${err.message.slice(p.length + 2)}`);
      }
    }
    if (files.length === before) throw new BadInput(`${path}: no ringpoll result files in this folder`);
  }
  if (files.length === 0) throw new BadInput("no result files given");
  return { files, notes, streamed };
}
