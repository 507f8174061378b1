// Mann–Whitney U (Wilcoxon rank-sum) test: a cross-check on the Welch verdict that assumes no
// distribution shape and is not moved by a single outlying run.
import { normalCdf } from "./tdist.js";

export interface RankTest {
  /** U of head: how many (base, head) pairs have head > base, ties counting ½ */
  u: number;
  pValue: number;
  exact: boolean;
}

/** Largest m·n for which the exact null distribution is computed (no ties). */
const EXACT_LIMIT = 2500;

export function mannWhitney(base: readonly number[], head: readonly number[]): RankTest {
  const m = base.length;
  const n = head.length;
  if (m < 1 || n < 1) throw new RangeError("Mann–Whitney needs at least one value per side");
  const all = [...base.map((v) => ({ v, head: false })), ...head.map((v) => ({ v, head: true }))].sort((p, q) => p.v - q.v);
  let rankSumHead = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const size = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k].head) rankSumHead += rank;
    tieTerm += size ** 3 - size;
    i = j + 1;
  }
  const u = rankSumHead - (n * (n + 1)) / 2;
  if (tieTerm === 0 && m * n <= EXACT_LIMIT) return { u, pValue: exactP(u, m, n), exact: true };
  const N = m + n;
  const sd = Math.sqrt(((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sd === 0) return { u, pValue: 1, exact: false };
  const z = Math.max(0, Math.abs(u - (m * n) / 2) - 0.5) / sd;
  return { u, pValue: Math.min(1, 2 * (1 - normalCdf(z))), exact: false };
}

/** Two-sided exact p-value: counts of rank arrangements by U (Mann & Whitney's recursion). */
function exactP(u: number, m: number, n: number): number {
  // counts[j][k] = arrangements of j base and (current) head values with U = k
  const max = m * n;
  let prev: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let h = 1; h <= n; h++) {
    const cur: number[][] = [];
    for (let j = 0; j <= m; j++) {
      const row = new Array<number>(j * h + 1).fill(0);
      // the largest value is a head value (adds j to U) or a base value
      const withHeadLast = prev[j];
      for (let k = 0; k < withHeadLast.length; k++) row[k + j] += withHeadLast[k];
      if (j > 0) {
        const withBaseLast = cur[j - 1];
        for (let k = 0; k < withBaseLast.length; k++) row[k] += withBaseLast[k];
      }
      cur.push(row);
    }
    prev = cur;
  }
  const dist = prev[m];
  let total = 0;
  for (const c of dist) total += c;
  const centre = max / 2;
  const d = Math.abs(u - centre);
  let tail = 0;
  for (let k = 0; k <= max; k++) if (Math.abs(k - centre) >= d - 1e-9) tail += dist[k];
  return Math.min(1, tail / total);
}
