// matrix --interleave end to end: both kernels boot once, the bench runs in rounds that take turns,
// every run carries its round and the host's load, and the paired comparison is printed (withheld
// under TCG unless --force). Runs are short: this checks the mechanism, not the kernels.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { matrix, results, tail } from "./matrix.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-kernels-interleave-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bench = ["--", "bench", "pps", "--receivers", "epoll", "--duration", "0.5", "--warmup", "0.2"];

describe("ringpoll matrix --interleave", () => {
  it("runs paired rounds in both guests and prints the paired comparison", async () => {
    const out = join(dir, "aa");
    const r = await matrix(["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--rounds", "3", "--quiet", "--out", out, ...bench]);
    expect(r.status, tail(r)).toBe(0);
    const files = [...results(out).values()];
    expect(files).toHaveLength(2);
    const session = files[0].matrix.interleave.session;
    for (const f of files) {
      expect(f.matrix.interleave.session).toBe(session);
      expect(f.results[0].runs.map((x: any) => x.round)).toEqual([0, 1, 2]);
      for (const run of f.results[0].runs) {
        expect(run.extra.hostBusy).toBeGreaterThanOrEqual(0);
        expect(run.extra.hostBusy).toBeLessThanOrEqual(1);
        expect(run.extra.hostOtherBusy).toBeLessThanOrEqual(run.extra.hostBusy);
      }
    }
    // the order alternates: 6.19 first in rounds 0 and 2, second in round 1
    const first = files.find((f) => f.matrix.interleave.side === 0);
    expect(first.matrix.interleave.rounds.map((x: any) => x.position)).toEqual([0, 3, 4]);
    expect(r.stderr).toMatch(/round 2\/3 7\.0\.\d+\S*: exit 0/);
    expect(r.stdout).toMatch(/interleaved session \S+: 3 complete rounds/);
    expect(r.stdout).toMatch(/pps epoll .* — pps/);
    if (files[0].emulated) expect(r.stdout).toMatch(/no verdict: recorded under emulation \(QEMU TCG\).*--force/);
  });

  it("--inject-percent on one side and --force: the comparison is made and names the injection", async () => {
    const out = join(dir, "inject");
    const r = await matrix(["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--rounds", "2", "--inject-percent", "7.0=5", "--force", "--quiet", "--out", out, ...bench]);
    expect(r.status, tail(r)).toBe(0);
    const byKernel = [...results(out).entries()];
    const injected = byKernel.find(([k]) => k.startsWith("7.0"))![1];
    expect(injected.matrix.injectPercent).toBe(5);
    expect(injected.results[0].params.injectPercent).toBe(5);
    expect(injected.results[0].runs.every((x: any) => x.extra.injectNs > 0)).toBe(true);
    // a guest starved by the host's load can count no packets in a run: its round leaves the pairs
    if (!/left out of the pairs \(no value\)/.test(r.stdout)) {
      expect(r.stdout).toMatch(/analysis: paired by round \(2 rounds of one interleaved session/);
      expect(r.stdout).toMatch(/ratio head\/base [\d.]+ \(95 % CI/);
    }
    expect(r.stdout).toMatch(/7\.0\.\d+\S* ran with 5 % injected per-packet work/);
  });
});
