// validate:stats analysis on seeded collections with known structure: rounds share most of their
// noise, sessions differ by more than runs within a session, and the injected side costs 20 % more.
// The analysis must show pairing's gain, the false alarms of runs taken as independent across
// sessions, and that session-level analyses keep them near 5 %.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyseDir } from "../../src/validate/analyse.js";
import { renderSummary } from "../../src/validate/summary.js";
import type { Run } from "../../src/schema.js";
import { normals, resultFile, runs, tmp, writeJson } from "./results.js";

/** `k` sessions × `n` rounds of A, A′ and +20 %: session offset sd 6 %, round noise sd 5 % shared, run noise 1 %. */
function collection(k: number, n: number): string {
  const dir = tmp();
  mkdirSync(join(dir, "sessions"));
  const z = normals(42);
  for (let s = 0; s < k; s++) {
    const offset = 0.06 * z();
    const sides: Run[][] = [[], [], []];
    for (let r = 0; r < n; r++) {
      const shared = 0.05 * z();
      [1, 1, 1 / 1.2].forEach((effect, i) => {
        // cpuNsPerPacket = 1e9 / pps in these runs: +20 % CPU per packet is pps / 1.2
        const [run] = runs([1e6 * effect * Math.exp(offset + shared + 0.01 * z())]);
        sides[i].push({ ...run, round: r, slot: i });
      });
    }
    const start = new Date(Date.UTC(2026, 0, 1, 0, s * 2));
    const file = resultFile(
      "6.18.0",
      ["A", "A′", "+20 %"].map((name, i) => ({
        scenario: "pps" as const,
        receiver: "epoll",
        params: { validateSide: name, injectPercent: i === 2 ? 20 : 0, injectNs: i === 2 ? 300 : 0, duration: 0.5 },
        runs: sides[i],
        summary: { median: 0, cv: 0 },
      })),
      { schema: "ringpoll.bench.v2", createdAt: new Date(start.getTime() + 90_000).toISOString(), session: { id: `s${s}`, startedAt: start.toISOString(), interleaved: true } },
    );
    writeJson(join(dir, "sessions"), `${String(s).padStart(3, "0")}.json`, file);
  }
  return dir;
}

describe("validate:stats analysis", () => {
  const dir = collection(16, 20);
  const summary = analyseDir(dir, 1.5);
  const cpu = summary.figures.find((f) => f.metric === "cpuNsPerPacket")!;
  const [paired, unpaired] = cpu.within;

  it("reads the sessions and their timing", () => {
    expect(summary).toMatchObject({ sessions: 16, rounds: 20 });
    expect(summary.sessionSeconds).toBeCloseTo(90, 5);
    expect(summary.abRoundsIn3Min).toBe(Math.floor(180 / (2 * (90 / 60))));
  });

  it("within a session: pairing shrinks the MDE and finds +20 % every time; A/A stays quiet", () => {
    expect(paired.analysis).toBe("paired");
    expect(paired.mde!).toBeLessThan(unpaired.mde! / 2);
    expect(paired.detection[0].detected).toMatchObject({ hits: 16, trials: 16 });
    expect(paired.falseAlarms.hits).toBeLessThanOrEqual(3);
    expect(unpaired.falseAlarms.hits).toBeLessThanOrEqual(3);
    expect(cpu.correlation!).toBeGreaterThan(0.9);
    // the pooled, paired effect of the injection is the one put in
    expect(cpu.produced[0].ci![0]).toBeLessThan(1.2);
    expect(cpu.produced[0].ci![1]).toBeGreaterThan(1.2);
  });

  it("across sessions: runs taken as independent cry wolf; the session-level analyses do not", () => {
    const a = cpu.across!;
    expect(a.sessions).toBe(16);
    expect(a.betweenPercent).toBeGreaterThan(a.withinPercent / 2);
    expect(a.naive.rate).toBeGreaterThan(0.3);
    expect(a.profile.trials).toBe(120);
    expect(a.profile.rate).toBeLessThan(0.12);
    expect(a.three.falseAlarms.rate).toBeLessThan(0.12);
    expect(a.three.detection[0].detected.rate).toBeGreaterThan(0.3);
  });

  it("renders both analyses side by side and the across-sessions table", () => {
    const md = renderSummary(summary);
    expect(md).toMatch(/\| cpuNsPerPacket \| paired \| \d+\/16 /);
    expect(md).toMatch(/\| cpuNsPerPacket \| unpaired \| \d+\/16 /);
    expect(md).toMatch(/#### Across sessions/);
    expect(md).toMatch(/--from /);
  });
});
