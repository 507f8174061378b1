// `ringpoll compare`: verdicts, JSON shape, gate exit codes, markdown/junit outputs, bad input.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ringpoll } from "./cli.js";
import { noiseProfile, result, resultFile, sample, tmp, writeJson } from "./results.js";

let dir: string;
let base: string;
let faster: string;
let slower: string;
let same: string;
let profile: string;

/** These files stand for kernels recorded apart, one session each: a near-zero between-session noise profile makes the verdicts those of Welch's test. */
function compare(args: string[], env: Record<string, string | undefined> = {}) {
  return ringpoll(["compare", ...args], { RINGPOLL_NOISE_PROFILE: profile, ...env });
}

beforeAll(() => {
  dir = tmp();
  profile = noiseProfile(dir);
  base = writeJson(dir, "base.json", resultFile("6.19.0", [result("epoll", sample(1, 10, 1e6, 0.02)), result("uring", sample(2, 10, 2e6, 0.02))]));
  faster = writeJson(dir, "faster.json", resultFile("7.0.0", [result("epoll", sample(3, 10, 1.05e6, 0.02)), result("uring", sample(4, 10, 2e6, 0.02))]));
  slower = writeJson(dir, "slower.json", resultFile("7.0.0", [result("epoll", sample(5, 10, 0.9e6, 0.02))]));
  same = writeJson(dir, "same.json", resultFile("6.19.0", [result("epoll", sample(6, 10, 1e6, 0.02))]));
});

describe("compare", () => {
  it("prints the issue's JSON shape with a verdict per matched scenario/receiver/params", () => {
    const r = compare([base, faster, "--json", "--target", "1.5"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.comparisons).toHaveLength(2);
    const [epoll, uring] = out.comparisons;
    for (const key of ["scenario", "receiver", "params", "base", "head", "ratio", "ci", "pValue", "significant", "verdict", "mde", "runsFor"]) {
      expect(epoll).toHaveProperty(key);
    }
    expect(epoll).toMatchObject({ scenario: "pps", receiver: "epoll", params: { flows: 1, size: 64 }, metric: "pps", significant: true, verdict: "faster" });
    expect(epoll.base).toMatchObject({ file: base, kernel: "6.19.0", runs: 10 });
    expect(epoll.head.kernel).toBe("7.0.0");
    expect(epoll.ci[0]).toBeLessThan(epoll.ratio);
    expect(epoll.ci[1]).toBeGreaterThan(epoll.ratio);
    expect(epoll.runsFor).toMatchObject({ targetPercent: 1.5 });
    expect(typeof epoll.base.cv).toBe("number");
    expect(uring.verdict).toBe("no detectable difference");
  });

  it("says in words how much faster, with the CI, and what the setup resolves", () => {
    const r = compare([base, faster]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/7\.0\.0 is \d+\.\d % faster than 6\.19\.0 \(95 % CI [\d.]+–[\d.]+ %\)/);
    expect(r.stdout).toMatch(/no difference this setup can detect/);
    expect(r.stdout).toMatch(/resolves [\d.]+ % here .*; 1\.5 % needs \d+ sessions per side/);
  });

  it("names a collapsed run instead of hiding it", () => {
    const values = sample(11, 8, 1e6, 0.02);
    values[3] = 1e5;
    const collapsed = writeJson(dir, "collapsed.json", resultFile("7.0.0", [result("epoll", values)]));
    const r = compare([base, collapsed]);
    expect(r.stdout).toMatch(/note: head run 3 far from the others/);
    expect(JSON.parse(compare([base, collapsed, "--json"]).stdout).comparisons[0].outliers).toEqual({ base: [], head: [3] });
  });

  it("treats cpuNsPerPacket as lower-is-better", () => {
    const out = JSON.parse(compare([base, faster, "--json", "--metric", "cpuNsPerPacket"]).stdout);
    // the fixtures' CPU cost is 1e9 / pps, so the faster head costs less per packet
    expect(out.comparisons[0]).toMatchObject({ metric: "cpuNsPerPacket", higherIsBetter: false, verdict: "faster" });
    expect(out.comparisons[0].ratio).toBeLessThan(1);
  });

  it("compares every further file with the first", () => {
    const out = JSON.parse(compare([base, faster, slower, "--json"]).stdout);
    expect(out.comparisons.map((c: { head: { file: string }; verdict: string }) => [c.head.file, c.verdict])).toEqual([
      [faster, "faster"],
      [faster, "no detectable difference"],
      [slower, "slower"],
    ]);
    expect(out.notes).toContain(`only in ${base}: pps uring (flows=1 size=64)`);
  });
});

describe("regression gate", () => {
  it("exits 1 on a significant regression beyond the threshold", () => {
    const r = compare([base, slower, "--fail-on-regression", "5"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/gate: FAIL/);
  });

  it("exits 0 when the regression is smaller than the threshold", () => {
    const r = compare([base, slower, "--fail-on-regression", "20"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/gate: pass/);
  });

  it("exits 0 on an improvement or no detectable difference", () => {
    expect(compare([base, faster, "--fail-on-regression", "0"]).status).toBe(0);
    expect(compare([base, same, "--fail-on-regression", "1"]).status).toBe(0);
  });

  it("does not fail on a large but insignificant drop (noisy host)", () => {
    const noisy = writeJson(dir, "noisy.json", resultFile("7.0.0", [result("epoll", sample(7, 3, 0.9e6, 0.3))]));
    const r = compare([base, noisy, "--fail-on-regression", "5", "--json"]);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c.significant).toBe(false);
    expect(r.status).toBe(0);
  });
});

describe("outputs", () => {
  it("writes markdown, appends it to $GITHUB_STEP_SUMMARY, and writes one junit testcase per comparison", () => {
    const md = join(dir, "summary.md");
    const junit = join(dir, "junit.xml");
    const summary = join(dir, "step-summary.md");
    writeFileSync(summary, "earlier step\n");
    const r = compare([base, faster, slower, "--markdown", md, "--junit", junit, "--fail-on-regression", "5"], { GITHUB_STEP_SUMMARY: summary });
    expect(r.status).toBe(1);
    const markdown = readFileSync(md, "utf8");
    expect(markdown).toMatch(/^## ringpoll compare/);
    expect(markdown.split("\n").filter((l) => l.startsWith("| pps |"))).toHaveLength(3);
    expect(markdown).toMatch(/\*\*gate: FAIL/);
    expect(readFileSync(summary, "utf8")).toBe(`earlier step\n${markdown}`);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(/^<\?xml version="1.0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toMatch(/<testsuites name="ringpoll compare" tests="3" failures="1" errors="0" skipped="0">/);
    expect(xml).toMatch(/<failure message="regression of [\d.]+ % \(threshold 5 %\)/);
  });
});

describe("bad input", () => {
  it("an output that cannot be written is one line and exit 2, not a stack trace", () => {
    const r = compare([base, faster, "--markdown", join(dir, "no-such-dir", "x.md")], { GITHUB_STEP_SUMMARY: join(dir, "no-such-dir", "s.md") });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`ringpoll: cannot write ${join(dir, "no-such-dir", "x.md")}: ENOENT`);
    expect(r.stderr).toContain(`ringpoll: cannot write ${join(dir, "no-such-dir", "s.md")}: ENOENT`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses another schema version with exit 2", () => {
    const other = writeJson(dir, "v0.json", { ...resultFile("7.0.0", []), schema: "ringpoll.bench.v0" });
    const r = compare([base, other]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${other}: expected schema ringpoll.bench.v1 or ringpoll.bench.v2 but found "ringpoll.bench.v0"`);
    expect(r.stdout).toBe("");
  });

  it("refuses a file whose scenarios match nothing in the base", () => {
    const rr = writeJson(dir, "rr.json", resultFile("7.0.0", [result("epoll", sample(8, 5, 1e5, 0.02), { scenario: "udp-rr" })]));
    const r = compare([base, rr]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no result matches .*base\.json by scenario, receiver and params \(base has pps epoll .*; head has udp-rr epoll/);
  });

  it("gives no verdict for empty runs or a single run per side, and exits 2", () => {
    const empty = writeJson(dir, "empty.json", resultFile("7.0.0", [result("epoll", [])]));
    let r = compare([base, empty, "--json"]);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).comparisons[0]).toMatchObject({ verdict: "no verdict", ci: null, pValue: null, significant: null });
    expect(r.stderr).toMatch(/head has no runs/);

    const one = (name: string, v: number) => writeJson(dir, name, resultFile("7.0.0", [result("epoll", [v])]));
    r = compare([one("one-a.json", 1e6), one("one-b.json", 1.2e6), "--fail-on-regression", "5"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/no verdict: base has a single run/);
    expect(r.stdout).not.toMatch(/faster|slower/);
  });

  it("names unusable runs", () => {
    const zero = writeJson(dir, "zero.json", resultFile("7.0.0", [result("epoll", [1e6, 0, 1.1e6])]));
    const r = compare([base, zero]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/head run 1: pps 0 is not positive/);
  });

  it("reports unreadable files and bad options with exit 2", () => {
    expect(compare([base, join(dir, "missing.json")])).toMatchObject({ status: 2, stderr: expect.stringMatching(/missing\.json: cannot read \(ENOENT\)/) });
    const notJson = join(dir, "not.json");
    writeFileSync(notJson, "{ nope");
    expect(compare([base, notJson])).toMatchObject({ status: 2, stderr: expect.stringMatching(/not\.json: not JSON/) });
    expect(compare([base, faster, "--target", "-1"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/Expected a positive percentage below 100 for --target but received -1/) });
    expect(compare([base, faster, "--metric", "latency"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/for --metric but received latency/) });
    expect(compare([base])).toMatchObject({ status: 2, stderr: expect.stringMatching(/Expected a base file and at least one head file/) });
  });
});

describe("emulated results", () => {
  it("get no verdict unless --force", () => {
    const emu = writeJson(dir, "emu.json", resultFile("7.0.0", [result("epoll", sample(9, 10, 0.5e6, 0.02))], { emulated: true }));
    let r = compare([base, emu, "--json", "--fail-on-regression", "5"]);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout).comparisons[0];
    expect(c).toMatchObject({ verdict: "no verdict", ci: null });
    expect(c.reason).toMatch(/emulation \(QEMU TCG\).*--force/);
    r = compare([base, emu, "--json", "--force", "--fail-on-regression", "5"]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).comparisons[0]).toMatchObject({ verdict: "slower" });
  });
});
