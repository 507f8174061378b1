// `ringpoll compare` with sessions: runs of one interleaved session are paired by round; one session
// per side recorded apart gets no verdict unless the host's noise profile says how much sessions
// differ; several sessions per side are compared on their session means. And hostile result files.
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ResultFile } from "../../src/schema.js";
import { compareSides } from "../../src/compare/files.js";
import { loadResultFile } from "../../src/compare/input.js";
import { compareSamples } from "../../src/compare/samples.js";
import { ringpoll } from "./cli.js";
import { noiseProfile, normals, result, resultFile, runs, sample, tmp, writeJson } from "./results.js";

let dir: string;

/** v2 file of one session; `values` in round order. */
function v2(kernel: string, values: number[], id: string, interleaved: boolean): ResultFile {
  return resultFile(kernel, [result("epoll", values)], { schema: "ringpoll.bench.v2", session: { id, startedAt: "2026-01-01T00:00:00.000Z", interleaved } });
}

/** Two sides taking turns for `n` rounds: a shared round effect of 5 %, own noise 0.5 %, head `effect` times base. */
function interleaved(seed: number, n: number, effect: number): [number[], number[]] {
  const z = normals(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const round = 0.05 * z();
    a.push(1e6 * Math.exp(round + 0.005 * z()));
    b.push(1e6 * effect * Math.exp(round + 0.005 * z()));
  }
  return [a, b];
}

/** `k` sessions of `n` runs: each session shifted by its own offset (sd `between`), runs with 2 % noise. */
function sessions(prefix: string, seed: number, k: number, n: number, centre: number, between: number): string[] {
  const z = normals(seed);
  return Array.from({ length: k }, (_, i) => writeJson(dir, `${prefix}${i}.json`, v2("6.19.0", sample(seed * 100 + i, n, centre * Math.exp(between * z()), 0.02), `${prefix}-${i}`, false)));
}

beforeAll(() => {
  dir = tmp();
});

describe("one interleaved session: paired by round", () => {
  it("pairs files that share an interleaved session and says so; the same runs apart would not be significant", () => {
    const [a, b] = interleaved(1, 20, 1.01);
    const pa = writeJson(dir, "p-619.json", v2("6.19.0", a, "s1", true));
    const pb = writeJson(dir, "p-70.json", v2("7.0.0", b, "s1", true));
    const r = ringpoll(["compare", pa, pb, "--json"]);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ analysis: "paired", pairs: 20, verdict: "faster", crossCheck: { method: "wilcoxon-signed-rank" }, runsFor: { unit: "rounds" } });
    expect(c.correlation).toBeGreaterThan(0.9);
    expect(ringpoll(["compare", pa, pb]).stdout).toMatch(/analysis: paired by round \(20 rounds of one interleaved session, correlation 0\.\d\d\)/);
    // the same values as two sessions recorded apart, with a flat profile: Welch cannot see 1 % under 5 % noise
    const ua = writeJson(dir, "u-619.json", v2("6.19.0", a, "u1", false));
    const ub = writeJson(dir, "u-70.json", v2("7.0.0", b, "u2", false));
    const u = JSON.parse(ringpoll(["compare", ua, ub, "--json"], { RINGPOLL_NOISE_PROFILE: noiseProfile(dir) }).stdout).comparisons[0];
    expect(u).toMatchObject({ analysis: "profile", verdict: "no detectable difference" });
  });

  it("pairs only the rounds both sides have", () => {
    const [a, b] = interleaved(2, 12, 1);
    const pa = writeJson(dir, "q-a.json", v2("6.19.0", a, "s2", true));
    const short = v2("7.0.0", b.slice(0, 10), "s2", true);
    const pb = writeJson(dir, "q-b.json", short);
    const r = ringpoll(["compare", pa, pb, "--json"]);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ analysis: "paired", pairs: 10 });
    expect(c.notes).toContain("2 runs without a partner in the other side's round were left out of the pairing");
  });
});

describe("sessions recorded apart", () => {
  it("withholds the verdict with one session per side and says how many sessions would resolve the target", () => {
    const a = writeJson(dir, "w-a.json", v2("6.19.0", sample(3, 10, 1e6, 0.02), "w1", false));
    const b = writeJson(dir, "w-b.json", v2("7.0.0", sample(4, 10, 1.2e6, 0.02), "w2", false));
    const r = ringpoll(["compare", a, b, "--json"]);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ verdict: "no verdict", withheld: true, badInput: false, analysis: "sessions", runsFor: { unit: "sessions" } });
    expect(c.reason).toMatch(/single session.*Record at least \d+ sessions per side for 1\.5 %.*ringpoll calibrate/);
    // a gate cannot pass on a withheld verdict
    const g = ringpoll(["compare", a, b, "--fail-on-regression", "3"]);
    expect(g.status).toBe(2);
    expect(g.stdout).toMatch(/gate: NO VERDICT/);
    expect(g.stderr).toMatch(/the gate cannot judge pps epoll/);
    expect(g.stderr).not.toMatch(/\n\s+at /);
  });

  it("uses the host's between-session noise: a large one widens the interval until 20 % is no longer significant", () => {
    const a = writeJson(dir, "h-a.json", v2("6.19.0", sample(5, 10, 1e6, 0.02), "h1", false));
    const b = writeJson(dir, "h-b.json", v2("7.0.0", sample(6, 10, 1.2e6, 0.02), "h2", false));
    const quiet = JSON.parse(ringpoll(["compare", a, b, "--json", "--noise-profile", noiseProfile(dir, 1, "quiet.json")]).stdout).comparisons[0];
    expect(quiet).toMatchObject({ analysis: "profile", verdict: "faster" });
    const noisy = JSON.parse(ringpoll(["compare", a, b, "--json", "--noise-profile", noiseProfile(dir, 15, "noisy.json")]).stdout).comparisons[0];
    expect(noisy).toMatchObject({ analysis: "profile", verdict: "no detectable difference" });
    expect(noisy.ci[1] / noisy.ci[0]).toBeGreaterThan((quiet.ci[1] / quiet.ci[0]) ** 3);
    expect(noisy.notes[0]).toMatch(/between-session noise 15\.00 % from the host profile .*noisy\.json \(2026-01-01, 1001 sessions\)/);
    // --no-noise-profile: back to withheld
    expect(JSON.parse(ringpoll(["compare", a, b, "--json", "--no-noise-profile"], { RINGPOLL_NOISE_PROFILE: join(dir, "noisy.json") }).stdout).comparisons[0].withheld).toBe(true);
  });

  it("compares several sessions per side on their session means, with globs, and finds 20 % under 5 % session noise", () => {
    sessions("sa", 7, 3, 6, 1e6, 0.05);
    sessions("sb", 8, 3, 6, 1.2e6, 0.05);
    // options go before `--`: everything after it is a head file
    const r = ringpoll(["compare", "--json", "--fail-on-regression", "5", join(dir, "sa*.json"), "--", join(dir, "sb*.json")]);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ analysis: "sessions", verdict: "faster", sessions: { base: 3, head: 3 }, base: { runs: 18 }, runsFor: { unit: "sessions" } });
    expect(c.sessions.betweenPercent).toBeGreaterThan(1);
    expect(c.base.files).toHaveLength(3);
    expect(ringpoll(["compare", join(dir, "sa*.json"), "--", join(dir, "sb*.json")]).stdout).toMatch(/analysis: 3 vs 3 sessions, Welch on session means; noise within a session [\d.]+ %, between sessions [\d.]+ %/);
  });

  it("A/A across sessions: with the session as the unit, session noise is not a difference", () => {
    // 30 pairs of 3-vs-3 A/A sessions with 5 % session noise and 2 % run noise (runs taken as
    // independent would see "differences" most of the time)
    let alarms = 0;
    let pooledAlarms = 0;
    const load = (files: string[]) => files.map(loadResultFile);
    for (let t = 0; t < 40; t++) {
      const a = load(sessions(`aa${t}a`, 1000 + t, 3, 6, 1e6, 0.05));
      const b = load(sessions(`aa${t}b`, 2000 + t, 3, 6, 1e6, 0.05));
      if (compareSides(a, b, { metrics: ["pps"], targetPercent: 1.5, force: false, profile: null }).comparisons[0].significant) alarms++;
      const values = (f: typeof a) => f.flatMap((x) => x.data.results[0].runs.map((r) => r.pps!));
      if (compareSamples(values(a), values(b), { higherIsBetter: true, targetPercent: 1.5 }).significant) pooledAlarms++;
    }
    expect(alarms).toBeLessThanOrEqual(5);
    expect(pooledAlarms).toBeGreaterThan(15);
  });

  it("refuses an empty side and a glob that matches nothing", () => {
    const a = writeJson(dir, "e-a.json", v2("6.19.0", sample(9, 5, 1e6, 0.02), "e1", false));
    expect(ringpoll(["compare", a, "--"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/Expected base files before -- and head files after it/) });
    expect(ringpoll(["compare", a, "--", join(dir, "nothing*.json")])).toMatchObject({ status: 2, stderr: expect.stringMatching(/no file matches .*nothing\*\.json/) });
  });
});

describe("old and hostile result files", () => {
  it("still reads v1 files (no session, rounds as positions): each file is a session of its own", () => {
    const a = writeJson(dir, "v1-a.json", resultFile("6.19.0", [result("epoll", sample(10, 6, 1e6, 0.02))]));
    const b = writeJson(dir, "v1-b.json", resultFile("7.0.0", [result("epoll", sample(11, 6, 1e6, 0.02))]));
    const c = JSON.parse(ringpoll(["compare", a, b, "--json"], { RINGPOLL_NOISE_PROFILE: noiseProfile(dir) }).stdout).comparisons[0];
    expect(c).toMatchObject({ analysis: "profile", sessions: { base: 1, head: 1 } });
  });

  const good = () => resultFile("6.19.0", [result("epoll", sample(12, 5, 1e6, 0.02))]);
  const cases: [string, () => string, RegExp][] = [
    ["truncated JSON", () => {
      const p = join(dir, "trunc.json");
      writeFileSync(p, JSON.stringify(good()).slice(0, 200));
      return p;
    }, /trunc\.json: not JSON/],
    ["a wrong schema version", () => writeJson(dir, "v9.json", { ...good(), schema: "ringpoll.bench.v9" }), /v9\.json: expected schema ringpoll\.bench\.v1 or ringpoll\.bench\.v2 but found "ringpoll\.bench\.v9"/],
    ["NaN figures", () => {
      const p = join(dir, "nan.json");
      writeFileSync(p, JSON.stringify(good()).replace(/"pps":[\d.e+]+/, '"pps":NaN'));
      return p;
    }, /nan\.json: not JSON/],
    ["a null figure", () => writeJson(dir, "null.json", resultFile("6.19.0", [{ ...result("epoll", []), runs: [...runs([1e6, 1.1e6]), { ...runs([1])[0], pps: null as unknown as number, packets: -5 }] }])), /head run 2: no pps value|head run 2: pps 0/],
    ["negative figures", () => writeJson(dir, "neg.json", resultFile("6.19.0", [result("epoll", [1e6, -3, 1.1e6])])), /head run 1: pps -3 is not positive/],
    ["a huge file", () => {
      const p = join(dir, "huge.json");
      writeFileSync(p, "{");
      truncateSync(p, 1 << 30);
      return p;
    }, /huge\.json: 1024 MiB is too large for a result file \(limit 64 MiB\)/],
    ["deep nesting", () => {
      const p = join(dir, "deep.json");
      writeFileSync(p, "[".repeat(200_000) + "]".repeat(200_000));
      return p;
    }, /deep\.json: (not JSON|expected a JSON object but found an array)/],
    ["a bad session", () => writeJson(dir, "sess.json", { ...good(), schema: "ringpoll.bench.v2", session: { id: 5 } }), /sess\.json: expected a non-empty string for session\.id but found number/],
    ["runs that are not objects", () => writeJson(dir, "strs.json", resultFile("6.19.0", [{ ...result("epoll", []), runs: ["x", 3] as unknown as [] }])), /head run 0: not an object/],
  ];
  it.each(cases)("%s: one line on stderr, exit 2, no stack trace", (_name, make, message) => {
    const base = writeJson(dir, "good.json", good());
    const r = ringpoll(["compare", base, make()], { RINGPOLL_NOISE_PROFILE: noiseProfile(dir) });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
    expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
  });

  it("a noise profile that is not one is refused the same way", () => {
    const a = writeJson(dir, "np-a.json", good());
    const bad = writeJson(dir, "bad-profile.json", { schema: "ringpoll.noise.v1", entries: [{ scenario: "pps" }] });
    const r = ringpoll(["compare", a, a, "--noise-profile", bad]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/bad-profile\.json: expected entries with scenario/) });
    expect(ringpoll(["compare", a, a, "--noise-profile", join(dir, "none.json")])).toMatchObject({ status: 2, stderr: expect.stringMatching(/none\.json: cannot read \(ENOENT\)/) });
  });
});

describe("ringpoll calibrate from recorded sessions", () => {
  it("stores within- and between-session noise per result and metric, and compare uses it", () => {
    const files = sessions("cal", 21, 6, 5, 1e6, 0.04);
    const out = join(dir, "profile.json");
    const r = ringpoll(["calibrate", join(dir, "cal*.json"), "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/pps epoll pps: within a session [\d.]+ %, between sessions [\d.]+ % \(6 sessions, 30 runs\)/);
    const profile = JSON.parse(readFileSync(out, "utf8"));
    expect(profile).toMatchObject({ schema: "ringpoll.noise.v1", files, host: { hostname: expect.any(String) } });
    const pps = profile.entries.find((e: { metric: string }) => e.metric === "pps");
    expect(pps).toMatchObject({ scenario: "pps", receiver: "epoll", sessions: 6, runs: 30, dfBetween: 5 });
    expect(Math.sqrt(pps.within)).toBeCloseTo(0.02, 1);
    expect(pps.between).toBeGreaterThan(0);
    const c = JSON.parse(ringpoll(["compare", files[0], files[1], "--json", "--noise-profile", out]).stdout).comparisons[0];
    expect(c).toMatchObject({ analysis: "profile", withheld: false });
  });

  it("refuses a single session with exit 2", () => {
    const one = writeJson(dir, "lonely.json", v2("6.19.0", sample(30, 5, 1e6, 0.02), "lonely", false));
    const r = ringpoll(["calibrate", one, "--out", join(dir, "p2.json")]);
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/needs the same result in at least two sessions/) });
  });
});
