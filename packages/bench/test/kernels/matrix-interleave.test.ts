// matrix --interleave end to end: both kernels boot once, the bench runs in rounds that take turns,
// every run carries its round and the host's load, and the paired comparison is printed (withheld
// under TCG unless --force). Runs are short: this checks the mechanism, not the kernels.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

  it("a round that fails in the guest ends the matrix with the guest's error line", async () => {
    const r = await matrix(["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--rounds", "2", "--quiet", "--out", join(dir, "fail"), "--", "bench", "iops", "--file", "/nonexistent/ringpoll", "--engines", "io_uring", "--duration", "0.2", "--warmup", "0"]);
    expect(r.status, tail(r)).toBe(1);
    expect(r.stderr).toMatch(/ringpoll matrix: 6\.19\.\d+\S*: round 1 failed: ENOENT: no such file or directory, access '\/nonexistent\/ringpoll'/);
  });

  it("bench arguments the guest refuses: the round server's exit and its message, before any round", async () => {
    const r = await matrix(["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--quiet", "--out", join(dir, "refused"), "--", "bench", "pps", "--receivers", "nope"]);
    expect(r.status, tail(r)).toBe(1);
    expect(r.stderr).toMatch(/the guest's round server exited with 2 before it was ready/);
    expect(r.stderr).toMatch(/Expected one of .* for --receivers but received nope/);
    expect(r.stderr).not.toMatch(/round 1\//);
  });

  it("a guest that dies during the session ends the matrix with the reason, and the other guest is stopped", async () => {
    const qemus: number[] = [];
    let killedAt = 0;
    const r = await matrix(["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--rounds", "20", "--timeout", "300", "--quiet", "--out", join(dir, "killed"), ...bench], {
      started: (child) => {
        let seen = "";
        child.stderr!.on("data", (d: Buffer) => {
          seen += d.toString();
          if (qemus.length === 0 && seen.includes("round 1/20")) {
            // QEMU runs under taskset, which execs it: the matrix's children are the QEMUs
            const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
            qemus.push(...children);
            process.kill(children[0]!, "SIGKILL");
            killedAt = Date.now();
          }
        });
      },
    });
    expect(qemus.length, tail(r)).toBe(2);
    expect(r.status, tail(r)).toBe(1);
    expect(r.stderr).toMatch(/ringpoll matrix: \S+: QEMU exited with SIGKILL/);
    for (const pid of qemus) expect(existsSync(`/proc/${pid}`)).toBe(false);
    // the host stops waiting when the guest dies, not when the round's --timeout would have fired
    expect((Date.now() - killedAt) / 1000).toBeLessThan(300);
  });
});
