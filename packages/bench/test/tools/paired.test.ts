// The paired analysis of interleaved runs and the within/between-session noise: checked against
// SciPy 1.17.1 (ttest_rel on logs, wilcoxon) and NumPy, then for calibration on seeded sessions whose
// rounds share most of their noise.
import { describe, expect, it } from "vitest";
import { comparePairedSamples, compareSamples } from "../../src/compare/samples.js";
import { pairedLog, signedRank } from "../../src/stats/paired.js";
import { pairsForEffect } from "../../src/stats/power.js";
import { varianceComponents } from "../../src/stats/sessions.js";
import { normals } from "./results.js";

const base = [100, 103, 98, 101, 99.5, 104, 97, 102];
const head = [101.5, 104.2, 99.9, 102.0, 101.3, 105.9, 98.1, 103.8];

/** A session of `n` rounds: both sides share a round effect (sd `shared`), plus own noise (sd `own`). */
function session(seed: number, n: number, shared: number, own: number, effect = 1): { a: number[]; b: number[] } {
  const z = normals(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const round = shared * z();
    a.push(1e6 * Math.exp(round + own * z()));
    b.push(1e6 * effect * Math.exp(round + own * z()));
  }
  return { a, b };
}

describe("paired t on per-round log ratios", () => {
  it("matches SciPy's ttest_rel on the logs", () => {
    const p = pairedLog(base, head);
    expect(p.ratio).toBeCloseTo(1.0151548022384482, 12);
    expect(p.ci[0]).toBeCloseTo(1.0120474391618681, 10);
    expect(p.ci[1]).toBeCloseTo(1.01827170607855, 10);
    expect(p.pValue).toBeCloseTo(7.972943916751554e-6, 12);
    expect(p.df).toBe(7);
    expect(p.correlation!).toBeCloseTo(0.9887344096353489, 10);
  });

  it("sees what the unpaired test cannot when the rounds share their noise", () => {
    // SciPy: Welch p = 0.235 on the same values
    expect(compareSamples(base, head, { higherIsBetter: true, targetPercent: 1.5 }).pValue!).toBeCloseTo(0.2349778012780035, 8);
    const c = comparePairedSamples(base, head, { higherIsBetter: true, targetPercent: 1.5 });
    expect(c).toMatchObject({ analysis: "paired", pairs: 8, verdict: "faster", significant: true });
    expect(c.crossCheck).toMatchObject({ method: "wilcoxon-signed-rank", agrees: true, attainable: true });
  });

  it("Wilcoxon signed-rank matches SciPy (exact without ties, normal approximation with them)", () => {
    expect(signedRank(base, head).pValue).toBeCloseTo(0.0078125, 12);
    const d = [0.01, -0.02, 0.03, 0.015, 0.04, -0.005, 0.022];
    expect(signedRank(d.map(() => 1), d.map(Math.exp)).pValue).toBeCloseTo(0.15625, 10);
    // ties: log ratios ln 2 · [1, 2, 2, 3, −1, 4, 5, −2] → SciPy method="approx", correction=True
    const tied = [1, 2, 2, 3, -1, 4, 5, -2].map((x) => 2 ** x);
    expect(signedRank(tied.map(() => 1), tied).pValue).toBeCloseTo(0.09088878524572709, 8);
  });

  it("gives no verdict with fewer than two rounds or a constant ratio, and refuses misaligned sides", () => {
    expect(comparePairedSamples([1], [2], { higherIsBetter: true, targetPercent: 1 })).toMatchObject({ verdict: "no verdict", analysis: "paired" });
    expect(comparePairedSamples([1, 2], [2, 4], { higherIsBetter: true, targetPercent: 1 }).reason).toMatch(/same ratio/);
    expect(() => comparePairedSamples([1, 2, 3], [1, 2], { higherIsBetter: true, targetPercent: 1 })).toThrow(/one base and one head value per round/);
  });

  it("rounds needed: the smallest n whose MDE reaches the target", () => {
    // sd of d = 1 %: n = 2 ... until (t.975,n−1 + t.8,n−1)·0.01/√n ≤ ln 1.015
    const n = pairsForEffect(0.01 ** 2, 1.5)!;
    const c = comparePairedSamples(...Object.values(session(5, n, 0.05, 0.01 / Math.SQRT2)) as [number[], number[]], { higherIsBetter: true, targetPercent: 1.5 });
    expect(n).toBeGreaterThan(3);
    expect(n).toBeLessThan(10);
    expect(c.runsFor).toMatchObject({ unit: "rounds" });
  });
});

describe("calibration on seeded sessions (shared noise 5 %, own noise 0.7 %)", () => {
  const trials = 300;
  it("A/A false alarms stay near 5 % for the paired t and the signed-rank test", () => {
    let t = 0;
    let w = 0;
    for (let s = 0; s < trials; s++) {
      const { a, b } = session(1000 + s, 20, 0.05, 0.007);
      const c = comparePairedSamples(a, b, { higherIsBetter: true, targetPercent: 1.5 });
      if (c.significant) t++;
      if (c.crossCheck!.pValue < 0.05) w++;
    }
    expect(t / trials).toBeLessThan(0.09);
    expect(w / trials).toBeLessThan(0.09);
  });

  it("an effect equal to the paired MDE is found about 80 % of the time; unpaired finds it rarely", () => {
    const probe = session(1, 20, 0.05, 0.007);
    const mde = comparePairedSamples(probe.a, probe.b, { higherIsBetter: true, targetPercent: 1.5 }).mde!;
    let paired = 0;
    let unpaired = 0;
    for (let s = 0; s < trials; s++) {
      const { a, b } = session(5000 + s, 20, 0.05, 0.007, 1 + mde / 100);
      if (comparePairedSamples(a, b, { higherIsBetter: true, targetPercent: 1.5 }).verdict === "faster") paired++;
      if (compareSamples(a, b, { higherIsBetter: true, targetPercent: 1.5 }).verdict === "faster") unpaired++;
    }
    expect(paired / trials).toBeGreaterThan(0.68);
    expect(paired / trials).toBeLessThan(0.92);
    expect(unpaired / trials).toBeLessThan(0.2);
  });
});

describe("noise within and between sessions", () => {
  it("matches the one-way random-effects ANOVA worked by hand (unbalanced sessions)", () => {
    // NumPy: MS_within = 0.0169444, (MS_between − MS_within)/n₀ = 0.1634615, n₀ = 2.8888889
    const c = varianceComponents([[1.0, 1.2, 0.9], [1.5, 1.4, 1.7, 1.6], [0.8, 0.7]]);
    expect(c).toMatchObject({ sessions: 3, runs: 9, dfWithin: 6, dfBetween: 2 });
    expect(c.within).toBeCloseTo(0.016944444444444446, 12);
    expect(c.between).toBeCloseTo(0.16346153846153835, 12);
    expect(c.n0).toBeCloseTo(2.888888888888889, 12);
  });

  it("never reports a negative between-session variance, and refuses what cannot estimate it", () => {
    expect(varianceComponents([[1, 2, 3], [1.1, 2.1, 2.9]]).between).toBe(0);
    expect(() => varianceComponents([[1, 2, 3]])).toThrow(/at least two sessions/);
    expect(() => varianceComponents([[1], [2]])).toThrow(/at least two runs/);
  });
});
