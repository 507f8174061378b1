// Numbers and verdict sentences shared by the text, markdown and junit outputs.
import type { MetricName } from "./metric.js";

export function pct(x: number): string {
  const a = Math.abs(x);
  return a < 1 ? a.toFixed(2) : a < 100 ? a.toFixed(1) : a.toFixed(0);
}

/** Both ends with the same precision: "0.49–0.93" or "0.5–3.7". */
export function pctRange(a: number, b: number): string {
  const d = Math.max(Math.abs(a), Math.abs(b)) < 1 ? 2 : 1;
  return `${Math.abs(a).toFixed(d)}–${Math.abs(b).toFixed(d)}`;
}

export function value(metric: MetricName, v: number | null): string {
  if (v === null) return "–";
  if (metric === "cpuNsPerPacket") return `${v.toFixed(v < 100 ? 1 : 0)} ns`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(3)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(1);
}

export function pValue(p: number | null): string {
  if (p === null) return "–";
  return p < 0.0001 ? "< 0.0001" : p.toFixed(4);
}

export interface Judged {
  metric: MetricName;
  higherIsBetter: boolean;
  ratio: number | null;
  ci: [number, number] | null;
  verdict: string;
  mde: number | null;
  runsFor: { targetPercent: number; unit?: "runs" | "rounds" | "sessions"; runsPerSide: number | null; moreRunsPerSide: number | null } | null;
  reason?: string;
}

/** "head is 1.4 % faster than base (95 % CI 0.9–1.9 %)", or why nothing can be said. */
export function verdictSentence(c: Judged, head: string, base: string): string {
  if (c.verdict === "no verdict" || c.ratio === null || c.ci === null) return `no verdict: ${c.reason ?? "not enough data"}`;
  const [lo, hi] = c.ci;
  if (c.verdict === "no detectable difference") {
    return `no difference this setup can detect (ratio ${c.ratio.toFixed(4)}, 95 % CI ${lo.toFixed(4)}–${hi.toFixed(4)})`;
  }
  const up = c.ratio > 1;
  // the CI of the change in the direction the sentence names
  const [a, b] = up ? [(lo - 1) * 100, (hi - 1) * 100] : [(1 - hi) * 100, (1 - lo) * 100];
  const size = Math.abs(c.ratio - 1) * 100;
  const what = c.higherIsBetter ? (up ? "faster" : "slower") : up ? "more CPU per packet" : "less CPU per packet";
  const verb = c.higherIsBetter ? "is" : "uses";
  return `${head} ${verb} ${pct(size)} % ${what} than ${base} (95 % CI ${pctRange(a, b)} %)`;
}

/** "resolves 4.0 % here; 1.5 % needs 40 runs per side (30 more)" (rounds when paired, sessions per side across sessions). */
export function resolutionSentence(c: Judged): string | null {
  if (c.mde === null || c.runsFor === null) return null;
  const r = c.runsFor;
  const unit = r.unit === "rounds" ? "rounds" : `${r.unit ?? "runs"} per side`;
  const these = r.unit === "rounds" ? "rounds" : (r.unit ?? "runs");
  const runs =
    r.runsPerSide === null
      ? `${r.targetPercent} % needs more than 100000 ${unit}`
      : r.moreRunsPerSide === 0
        ? `${r.targetPercent} % is resolved with these ${these} (${r.runsPerSide}${r.unit === "rounds" ? "" : " per side"} suffice)`
        : `${r.targetPercent} % needs ${r.runsPerSide} ${unit} (${r.moreRunsPerSide} more)`;
  return `resolves ${pct(c.mde)} % here (minimum detectable effect, 80 % power); ${runs}`;
}
