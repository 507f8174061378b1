// Results compare only when scenario, receiver and params are all equal.
import type { ScenarioResult } from "../schema.js";

export function paramsKey(params: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
}

export function resultKey(r: Keyed): string {
  return `${r.scenario}\u0000${r.receiver}\u0000${paramsKey(r.params)}`;
}

export interface Keyed {
  scenario: string;
  receiver: string;
  params: Record<string, unknown>;
}

export function describeResult(r: Keyed): string {
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${r.scenario} ${r.receiver}${params ? ` (${params})` : ""}`;
}

/** Groups a file's results by key; repeated entries of one key are pooled (their runs concatenated). */
export function byKey(results: readonly ScenarioResult[]): Map<string, ScenarioResult> {
  const map = new Map<string, ScenarioResult>();
  for (const r of results) {
    const key = resultKey(r);
    const seen = map.get(key);
    map.set(key, seen ? { ...seen, runs: [...seen.runs, ...r.runs] } : r);
  }
  return map;
}
