// `ringpoll ab` end to end on loopback with the native bench engine: rounds interleave, the
// comparison comes out in the compare JSON shape, and the result file holds both sides' runs.
import { readdirSync, readFileSync, mkdtempSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

describe("ab", () => {
  it("runs A and B interleaved for the rounds asked and prints the comparison", () => {
    const out = join(mkdtempSync(join(tmpdir(), "ringpoll-ab-")), "ab.json");
    const r = spawnSync(
      process.execPath,
      [cli, "ab", "--a", "receiver=recvmmsg", "--b", "receiver=epoll", "--duration", "0.2", "--warmup", "0.05", "--min-rounds", "3", "--max-rounds", "3", "--json", "--out", out, "--no-progress"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stdout).toMatch(/round limit 3 reached|CI half-width/);
    // --no-progress: no line per round
    expect(r.stderr).not.toMatch(/ab: round \d/);
    expect(r.status).toBe(0);
    const { comparisons } = JSON.parse(r.stdout);
    expect(comparisons.map((c: { metric: string }) => c.metric)).toEqual(["pps", "cpuNsPerPacket"]);
    expect(comparisons[0]).toMatchObject({ receiver: "recvmmsg vs epoll", base: { runs: 3 }, head: { runs: 3 } });
    expect(comparisons[0].verdict).toMatch(/^(faster|slower|no detectable difference)$/);
    const file = JSON.parse(readFileSync(out, "utf8"));
    expect(file.schema).toBe("ringpoll.bench.v2");
    expect(file.session.interleaved).toBe(true);
    // both sides ran in every round: the comparison is paired by round
    expect(comparisons[0]).toMatchObject({ analysis: "paired", pairs: 3, crossCheck: { method: "wilcoxon-signed-rank" } });
    expect(file.results.map((x: { receiver: string; params: { abSide: string } }) => [x.params.abSide, x.receiver])).toEqual([
      ["A", "recvmmsg"],
      ["B", "epoll"],
    ]);
    // A B, then B A: the run order alternates by round
    expect(file.results[0].runs.map((x: { round: number; slot: number }) => [x.round, x.slot])).toEqual([[0, 0], [1, 1], [2, 0]]);
    for (const run of file.results[1].runs) expect(run.packets).toBeGreaterThan(0);
  });
});

describe("calibrate", () => {
  it("records A/A sessions as separate bench processes and writes the host's noise profile", () => {
    // 3 runs of 0.2 s: on a loaded host a 0.1 s run can get no packets (receiver starved), and a
    // session needs 2 usable runs.
    const dir = mkdtempSync(join(tmpdir(), "ringpoll-calibrate-"));
    const r = spawnSync(
      process.execPath,
      [cli, "calibrate", "--sessions", "2", "--gap", "0.1", "--runs", "3", "--duration", "0.2", "--dir", join(dir, "s"), "--out", join(dir, "p.json")],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/calibrate: session 2\/2/);
    const profile = JSON.parse(readFileSync(join(dir, "p.json"), "utf8"));
    expect(profile.files).toHaveLength(2);
    expect(profile.entries.map((e: { metric: string }) => e.metric)).toEqual(["pps", "cpuNsPerPacket"]);
  });
});

describe("validate:stats", () => {
  it("records separate sessions with injected work, then analyses them (and again with --from)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ringpoll-validate-"));
    const script = fileURLToPath(new URL("../../dist/validate/stats.js", import.meta.url));
    const args = ["--sessions", "3", "--rounds", "3", "--duration", "0.1", "--warmup", "0.05", "--inject", "20", "--gap", "0.1", "--out", join(dir, "v")];
    const r = spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session 3\/3: 3 rounds/);
    const session = JSON.parse(readFileSync(join(dir, "v", "sessions", "000.json"), "utf8"));
    expect(session).toMatchObject({ schema: "ringpoll.bench.v2", session: { interleaved: true } });
    expect(session.results.map((x: { params: { validateSide: string } }) => x.params.validateSide)).toEqual(["A", "A′", "+20 %"]);
    expect(session.results[2].params.injectNs).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/\| cpuNsPerPacket \| paired \| \d\/3 /);
    expect(r.stdout).toMatch(/#### Across sessions/);
    const again = spawnSync(process.execPath, [script, "--from", join(dir, "v"), "--out", join(dir, "w")], { encoding: "utf8", timeout: 60_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/3 sessions of 3 rounds/);
    // the same --out again: refused, the collection is left as it was
    const reused = spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 60_000 });
    expect(reused.status).toBe(2);
    expect(reused.stderr).toMatch(/^validate:stats: \S+sessions holds 3 sessions already: give --resume to add to them, or another --out$/m);
    // --resume adds sessions after them, the fit going on from calibration.json; the analysis takes all
    const steps = JSON.parse(readFileSync(join(dir, "v", "calibration.json"), "utf8")).steps.length;
    const more = spawnSync(process.execPath, [script, ...args.slice(2), "--sessions", "2", "--resume"], { encoding: "utf8", timeout: 120_000 });
    expect(more.status, more.stderr).toBe(0);
    expect(more.stderr).toMatch(/session 2\/2 \(5 in the collection\)/);
    expect(readdirSync(join(dir, "v", "sessions"))).toEqual(["000.json", "001.json", "002.json", "003.json", "004.json"]);
    expect(JSON.parse(readFileSync(join(dir, "v", "calibration.json"), "utf8")).steps.length).toBe(steps + 2);
    expect(more.stdout).toMatch(/5 sessions of /);
  });
});
