// How a side is named in sentences: its kernel when the kernels differ, else its file name.
import { basename } from "node:path";
import type { Comparison } from "./files.js";

export function sideLabels(c: Pick<Comparison, "base" | "head">): { base: string; head: string } {
  const { base, head } = c;
  if (base.kernel && head.kernel && base.kernel !== head.kernel) return { base: base.kernel, head: head.kernel };
  const [b, h] = [basename(base.file), basename(head.file)];
  return b !== h ? { base: b, head: h } : { base: "base", head: "head" };
}
