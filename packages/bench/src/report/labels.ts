// One short label per result file for legends: the kernel release, made unique with the file name.
import { basename } from "node:path";
import type { LoadedFile } from "../compare/input.js";

export function fileLabels(files: readonly LoadedFile[]): Map<string, string> {
  const kernel = (f: LoadedFile) => `${f.data.env?.kernel?.release ?? "unknown kernel"}${f.data.emulated ? " (emulated)" : ""}`;
  const counts = new Map<string, number>();
  for (const f of files) counts.set(kernel(f), (counts.get(kernel(f)) ?? 0) + 1);
  return new Map(files.map((f) => [f.path, counts.get(kernel(f))! > 1 ? `${kernel(f)} · ${basename(f.path)}` : kernel(f)]));
}
