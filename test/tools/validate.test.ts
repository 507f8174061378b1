// validate:stats analysis on seeded sessions with known injected effects: trials are counted right,
// false alarms stay rare, large slowdowns are always found, and the pooled ratio recovers the effect.
import { describe, expect, it } from "vitest";
import { analyse } from "../../bench/validate/analyse.js";
import { runs, sample } from "./results.js";

function session(cv: number, seed: number) {
  const n = 100;
  // throughput drops by 1/(1 + p) when each packet costs p % more
  return {
    a: runs(sample(seed, n, 1e6, cv)),
    aa: runs(sample(seed + 1, n, 1e6, cv)),
    injected: new Map([1.5, 5, 20].map((p, i) => [p, runs(sample(seed + 2 + i, n, 1e6 / (1 + p / 100), cv))])),
  };
}

describe("validate:stats analysis", () => {
  it("splits the session into trials and finds what a 3 % CV allows", () => {
    const f = analyse(session(0.03, 100), "pps", 5, 1.5);
    expect(f.falseAlarms.trials).toBe(20);
    expect(f.falseAlarms.hits).toBeLessThanOrEqual(3);
    const [d15, d5, d20] = f.detection;
    expect(d20.detected).toMatchObject({ hits: 20, trials: 20 });
    expect(d20.wrongWay).toBe(0);
    expect(d5.detected.hits).toBeGreaterThan(d15.detected.hits);
    // the pooled 100-run ratio recovers the injected effect
    expect(d20.ci![0]).toBeLessThan(1 / 1.2);
    expect(d20.ci![1]).toBeGreaterThan(1 / 1.2);
    // MDE with 5 runs per side at 3 % CV: (t.975 + t.8, df 8) · 0.03 · √(2/5) ≈ 5.4 %
    expect(f.mdePerTrial!).toBeGreaterThan(3.5);
    expect(f.mdePerTrial!).toBeLessThan(8);
    expect(f.mdePooled!).toBeLessThan(f.mdePerTrial!);
    expect(f.medianCv!).toBeCloseTo(0.03, 1);
  });

  it("reads cpuNsPerPacket as lower-is-better: more work per packet is a detected slowdown", () => {
    const f = analyse(session(0.03, 200), "cpuNsPerPacket", 5, 1.5);
    expect(f.detection[2].detected.hits).toBe(20);
    expect(f.detection[2].measuredRatio!).toBeGreaterThan(1.15);
  });

  it("at 15 % CV small effects go undetected and the runs needed say why", () => {
    const f = analyse(session(0.15, 300), "pps", 5, 1.5);
    expect(f.detection[0].detected.hits).toBeLessThanOrEqual(4);
    expect(f.runsForTarget!).toBeGreaterThan(500);
  });
});
