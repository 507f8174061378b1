// The fit behind validate:stats's injected slowdowns: one slope for every injection size, weighted by
// each batch's precision, so the small injection gets the work the large ones pin down.
import { describe, expect, it } from "vitest";
import { EffectFit } from "../../src/ab/inject-effect.js";
import { normals } from "./results.js";

/** Paired batch: plain runs with 10 % shared noise; injected runs cost exp(k · ns) more. */
function batch(seed: number, ns: number, k: number, n = 40): [number[], number[]] {
  const z = normals(seed);
  const plain: number[] = [];
  const injected: number[] = [];
  for (let i = 0; i < n; i++) {
    const shared = 0.1 * z();
    plain.push(1500 * Math.exp(shared + 0.03 * z()));
    injected.push(1500 * Math.exp(k * ns + shared + 0.03 * z()));
  }
  return [plain, injected];
}

describe("injected effect fit", () => {
  it("starts at the nominal work and converges on the work that produces the effect asked for", () => {
    // true slope: 20 % needs 500 ns, about 2.5 × the nominal 200 ns
    const k = Math.log(1.2) / 500;
    const fit = new EffectFit(10);
    expect(fit.nsFor(20)).toBe(200);
    for (let s = 0; s < 12; s++) {
      for (const p of [1.5, 20]) fit.add(fit.nsFor(p), ...batch(100 * s + p, fit.nsFor(p), k), true);
    }
    expect(fit.nsFor(20)).toBeGreaterThan(450);
    expect(fit.nsFor(20)).toBeLessThan(550);
    expect(fit.nsFor(1.5) / (Math.log(1.015) / k)).toBeCloseTo(1, 1);
    expect(fit.predicted(fit.nsFor(20))!).toBeCloseTo(20, 5);
  });

  it("stays within 1/4 and 8 times the nominal work when the data say nothing or the opposite", () => {
    const fit = new EffectFit(10);
    fit.add(200, ...batch(1, 200, -0.001), true);
    expect(fit.nsFor(20)).toBe(1600);
    fit.addStep({ injectNs: 100, logEffect: 10, se: 0.001, rounds: 10 });
    expect(fit.nsFor(20)).toBe(50);
  });
});
