// The statistics behind `ringpoll compare`: checked against table values, SciPy 1.17.1 and a case
// worked by hand, then for calibration on seeded data with known effects.
import { describe, expect, it } from "vitest";
import { compareSamples, insufficient } from "../../src/compare/samples.js";
import { outliers } from "../../src/stats/outliers.js";
import { wilson } from "../../src/stats/proportion.js";
import { medianCi } from "../../src/stats/median-ci.js";
import { mdePercent, runsForEffect } from "../../src/stats/power.js";
import { mannWhitney } from "../../src/stats/rank.js";
import { tCdf, tQuantile } from "../../src/stats/tdist.js";
import { welchLog } from "../../src/stats/welch.js";
import { sample } from "./results.js";

describe("t distribution", () => {
  it.each([
    [0.975, 1, 12.706204736],
    [0.975, 2, 4.30265273],
    [0.975, 5, 2.570581836],
    [0.975, 10, 2.228138852],
    [0.975, 30, 2.042272456],
    [0.995, 3, 5.84090931],
    [0.8, 5, 0.91954378],
    [0.8, 10, 0.879057829],
    [0.975, 4.5, 2.658912347],
    [0.975, 7.3, 2.345066737],
  ])("quantile %f with %f df matches the table", (p, df, want) => {
    expect(tQuantile(p, df)).toBeCloseTo(want, 7);
    expect(tQuantile(1 - p, df)).toBeCloseTo(-want, 7);
  });

  it("quantile and cdf are inverse", () => {
    expect(tCdf(tQuantile(0.975, 6.5), 6.5)).toBeCloseTo(0.975, 8);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.959966, 5);
  });

  it("rejects probabilities outside (0, 1) and non-positive df", () => {
    expect(() => tQuantile(1, 5)).toThrow(/probability in \(0, 1\)/);
    expect(() => tQuantile(0.5, 0)).toThrow(/positive degrees of freedom/);
    expect(() => tQuantile(0.5, Number.NaN)).toThrow(/positive degrees of freedom/);
  });
});

describe("Welch's test on logs", () => {
  it("matches a case worked by hand (equal variances, df = 4)", () => {
    // logs: ln100 + {−d, 0, d} and ln110 + {−d, 0, d}, d = 0.03: each variance d², se = d·√(2/3),
    // df = 4, t(0.975, 4) = 2.776445105 → CI = 1.1 · exp(±2.776445105 · 0.0244949)
    const d = 0.03;
    const base = [-d, 0, d].map((x) => 100 * Math.exp(x));
    const head = [-d, 0, d].map((x) => 110 * Math.exp(x));
    const w = welchLog(base, head);
    expect(w.df).toBeCloseTo(4, 10);
    expect(w.se).toBeCloseTo(0.0244948974, 9);
    expect(w.ratio).toBeCloseTo(1.1, 12);
    expect(w.ci[0]).toBeCloseTo(1.1 * Math.exp(-2.776445105 * 0.0244948974), 8);
    expect(w.ci[1]).toBeCloseTo(1.1 * Math.exp(2.776445105 * 0.0244948974), 8);
    expect(w.ci[0]).toBeCloseTo(1.02767754, 7);
    expect(w.pValue).toBeCloseTo(0.0176753018, 8);
  });

  it("matches SciPy's ttest_ind(equal_var=False) on unequal samples", () => {
    const w = welchLog([100, 110, 105, 95, 102], [108, 115, 112, 104, 111, 109]);
    expect(w.df).toBeCloseTo(6.5117010568, 8);
    expect(w.t).toBeCloseTo(2.5102123423, 8);
    expect(w.pValue).toBeCloseTo(0.0428434491, 8);
    expect(w.ci[0]).toBeCloseTo(1.0030827841, 8);
    expect(w.ci[1]).toBeCloseTo(1.1485283781, 8);
  });

  it("refuses non-positive values, single values and zero variance", () => {
    expect(() => welchLog([1, 0], [1, 2])).toThrow(/positive finite values for base/);
    expect(() => welchLog([1], [1, 2])).toThrow(/at least two values/);
    expect(() => welchLog([3, 3], [3, 3])).toThrow(/variance/);
  });
});

describe("power", () => {
  it("MDE and runs needed match SciPy for the unequal samples", () => {
    const lb = [100, 110, 105, 95, 102].map(Math.log);
    const lh = [108, 115, 112, 104, 111, 109].map(Math.log);
    const w = welchLog([100, 110, 105, 95, 102], [108, 115, 112, 104, 111, 109]);
    expect(mdePercent(w.se, w.df)).toBeCloseTo(9.75593143, 6);
    const v = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b) / xs.length;
      return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
    };
    expect(runsForEffect(v(lb), v(lh), 1.5)).toBe(149);
  });

  it("gives up past the cap instead of looping", () => {
    expect(runsForEffect(1, 1, 0.001)).toBeNull();
    expect(() => runsForEffect(1, 1, 0)).toThrow(/positive target/);
  });
});

describe("Mann-Whitney", () => {
  it("exact p without ties matches SciPy", () => {
    expect(mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).pValue).toBeCloseTo(0.0079365079, 9);
    const r = mannWhitney([100, 110, 105, 95, 102], [108, 115, 112, 104, 111, 109]);
    expect(r.exact).toBe(true);
    expect(r.u).toBe(26);
    expect(r.pValue).toBeCloseTo(0.0519480519, 9);
  });

  it("normal approximation with ties and continuity correction matches SciPy", () => {
    const r = mannWhitney([3, 7, 8, 8, 10, 11], [1, 2, 2, 4, 5, 6]);
    expect(r.exact).toBe(false);
    expect(r.pValue).toBeCloseTo(0.0198051235, 8);
  });
});

describe("outlying runs", () => {
  it("names a collapsed run and leaves ordinary scatter alone", () => {
    const runs = sample(42, 12, 1e6, 0.03);
    expect(outliers(runs)).toEqual([]);
    runs[7] = 2e5;
    expect(outliers(runs)).toEqual([7]);
    expect(outliers([5, 5, 5, 9])).toEqual([]);
  });
});

describe("rate CI (Wilson)", () => {
  it.each([
    [1, 20, 0.0088814488, 0.2361311934],
    [0, 20, 0, 0.1611251581],
    [17, 20, 0.6395811353, 0.9476312541],
  ])("%i of %i matches SciPy's binomtest(...).proportion_ci(method='wilson')", (k, n, lo, hi) => {
    const [a, b] = wilson(k, n);
    expect(a).toBeCloseTo(lo, 8);
    expect(b).toBeCloseTo(hi, 8);
  });
});

describe("median CI (order statistics)", () => {
  const xs = (n: number) => Array.from({ length: n }, (_, i) => n - i);
  it.each([
    [5, 1, 5, 0.9375],
    [6, 1, 6, 0.96875],
    [10, 2, 9, 0.978515625],
    [20, 6, 15, 0.9586105347],
  ])("n = %i: [x(%i), x(%i)] with binomial coverage %f", (n, lo, hi, coverage) => {
    const ci = medianCi(xs(n));
    expect([ci.lo, ci.hi]).toEqual([lo, hi]);
    expect(ci.coverage).toBeCloseTo(coverage, 9);
  });

  it("stays an interval for a soak's 300,000 runs (0.5ⁿ underflows past n = 1074)", () => {
    const n = 300_000;
    const ci = medianCi(xs(n));
    // normal approximation: k ≈ n/2 − 1.96·√n/2
    const k = Math.floor(n / 2 - (1.96 * Math.sqrt(n)) / 2);
    expect(Math.abs(ci.lo - (k + 1))).toBeLessThanOrEqual(2);
    expect(ci.hi - ci.median).toBeCloseTo(ci.median - ci.lo, -1);
    expect(ci.coverage).toBeGreaterThanOrEqual(0.95);
    expect(ci.coverage).toBeLessThan(0.952);
  });
});

describe("verdicts on seeded data with known effects", () => {
  const opts = { higherIsBetter: true, targetPercent: 1.5 };

  it("sees a 5 % speed-up at 2 % CV with 10 runs, and its CI covers the truth", () => {
    const c = compareSamples(sample(1, 10, 1e6, 0.02), sample(2, 10, 1.05e6, 0.02), opts);
    expect(c.verdict).toBe("faster");
    expect(c.significant).toBe(true);
    expect(c.ci![0]).toBeLessThan(1.05);
    expect(c.ci![1]).toBeGreaterThan(1.05);
    expect(c.regressionPercent!).toBeLessThan(0);
  });

  it("calls a 10 % drop slower, and more CPU per packet slower too", () => {
    expect(compareSamples(sample(3, 10, 1e6, 0.02), sample(4, 10, 0.9e6, 0.02), opts).verdict).toBe("slower");
    const cpu = compareSamples(sample(5, 10, 800, 0.02), sample(6, 10, 880, 0.02), { ...opts, higherIsBetter: false });
    expect(cpu.verdict).toBe("slower");
    expect(cpu.regressionPercent!).toBeGreaterThan(5);
  });

  it("at 15 % CV with 10 runs the MDE is far above 1.5 % and says how many runs would resolve it", () => {
    // the verdict on one such sample is right 95 % of the time (the A/A test below); the MDE is what
    // tells the reader a 1.5 % effect is out of reach
    const c = compareSamples(sample(9, 10, 1e6, 0.15), sample(10, 10, 1.015e6, 0.15), opts);
    expect(c.mde!).toBeGreaterThan(10);
    expect(c.runsFor!.runsPerSide!).toBeGreaterThan(100);
    expect(c.runsFor!.moreRunsPerSide).toBe(c.runsFor!.runsPerSide! - 10);
  });

  it("A/A: about 5 % false alarms and 95 % CI coverage over 400 seeded trials", () => {
    let alarms = 0;
    let covered = 0;
    for (let i = 0; i < 400; i++) {
      const c = compareSamples(sample(1000 + 2 * i, 8, 1e6, 0.1), sample(1001 + 2 * i, 8, 1e6, 0.1), opts);
      if (c.significant) alarms++;
      if (c.ci![0] <= 1 && c.ci![1] >= 1) covered++;
    }
    expect(alarms / 400).toBeGreaterThan(0.02);
    expect(alarms / 400).toBeLessThan(0.09);
    expect(covered).toBe(400 - alarms);
  });

  it("an effect equal to the theoretical MDE is detected about 80 % of the time", () => {
    const n = 10;
    const sigma = 0.05;
    // df ≈ 2(n − 1) = 18 for equal variances
    const effect = Math.exp((tQuantile(0.975, 18) + tQuantile(0.8, 18)) * sigma * Math.sqrt(2 / n));
    let detected = 0;
    for (let i = 0; i < 400; i++) {
      const c = compareSamples(sample(5000 + 2 * i, n, 1e6, sigma), sample(5001 + 2 * i, n, 1e6 * effect, sigma), opts);
      if (c.verdict === "faster") detected++;
    }
    expect(detected / 400).toBeGreaterThan(0.72);
    expect(detected / 400).toBeLessThan(0.88);
  });

  it("gives no verdict without runs, with a single run, or without variance", () => {
    expect(insufficient([], [1, 2])).toMatch(/base has no runs/);
    expect(insufficient([1, 2], [1])).toMatch(/head has a single run/);
    expect(insufficient([2, 2], [3, 3])).toMatch(/no run-to-run variance/);
    const c = compareSamples([5], [6], opts);
    expect(c.verdict).toBe("no verdict");
    expect(c.ci).toBeNull();
    expect(c.pValue).toBeNull();
  });
});
