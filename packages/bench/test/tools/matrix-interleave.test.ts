// matrix --interleave without booting: the round order, CPU pinning plan, the per-round result
// merge, the host-load arithmetic, the paired comparison of the sides, and bad input.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cpuJiffies, loadBetween } from "../../dist/matrix/host-load.js";
import { addRound, hostCpuSets, roundOrder, type Side } from "../../dist/matrix/interleave.js";
import { roundArgs } from "../../dist/matrix/job.js";
import { analysisLine } from "../../dist/compare/text.js";
import { pairedReport } from "../../dist/matrix/paired.js";
import { kernelCmdline, qemuArgs } from "../../dist/matrix/qemu.js";
import { ringpoll } from "./cli.js";
import { normals, result, resultFile } from "./results.js";

const kernel = (release: string) => ({ spec: release, version: release, release, image: `/k/${release}`, source: "cache" as const });
const load = { hostBusy: 0.5, guestsBusy: 0.3, otherBusy: 0.2, load1: 1 };

function side(release: string, injectPercent = 0): Side {
  return { kernel: kernel(release), injectPercent, hostCpus: null, file: null, rounds: [] };
}

/**
 * A session of `n` rounds: base pps around 100k, head `effect` lower, both sharing a per-round host
 * factor. Every `busyEvery`-th round other work takes 90 % of the host and each side gets a 50 % swing of its own.
 */
function session(n: number, effect: number, seed: number, emulated = false, busyEvery = 0): [Side, Side] {
  const z = normals(seed);
  const a = side("6.19.14", 0);
  const b = side("7.0.13", 5);
  for (let round = 0; round < n; round++) {
    const host = Math.exp(0.2 * z()); // shared: 20 % swings round to round
    const busy = busyEvery > 0 && round % busyEvery === 0;
    for (const [s, centre, inject] of [[a, 100_000, 0], [b, 100_000 * (1 - effect), 5]] as const) {
      const v = centre * host * Math.exp((busy ? 0.5 : 0.005) * z());
      const r = result("epoll", [v], { params: { flows: 8, size: 64, injectPercent: inject } });
      addRound(s, resultFile(s.kernel.release, [r]), { round, slot: round % 2, position: round * 2, seconds: 2, ...load, ...(busy ? { otherBusy: 0.9, hostBusy: 1 } : {}) });
    }
  }
  // what the matrix stamps on both files before comparing
  const id = { id: `session-${seed}`, startedAt: "2026-01-01T00:00:00.000Z", interleaved: true };
  for (const s of [a, b]) Object.assign(s.file!, { session: id, emulated });
  return [a, b];
}

describe("matrix --interleave pieces", () => {
  it("rounds alternate the kernel order: A B, B A, A B", () => {
    expect([0, 1, 2].map((r) => roundOrder(2, r))).toEqual([[0, 1], [1, 0], [0, 1]]);
  });

  it("pins guests to CPUs of their own where the host has them, shares them where it has fewer", () => {
    expect(hostCpuSets(2, 2, 8).sets).toEqual([[0, 1], [2, 3]]);
    expect(hostCpuSets(2, 2, 2)).toMatchObject({ sets: [[0, 1], [0, 1]], note: expect.stringContaining("guests take turns") });
    expect(hostCpuSets(2, 4, 2)).toMatchObject({ sets: [null, null], note: expect.stringContaining("not pinned") });
  });

  it("each round runs the bench once, with the injection on its side only", () => {
    expect(roundArgs(["bench", "pps", "--runs", "5", "--duration", "1"], 0)).toEqual(["bench", "pps", "--duration", "1", "--runs", "1"]);
    expect(roundArgs(["bench", "pps", "--runs=5"], 5)).toEqual(["bench", "pps", "--runs", "1", "--inject-percent", "5"]);
  });

  it("a serving guest talks over a socket and is told so on its command line", () => {
    const o = { qemu: "q", image: "i", initrd: "r", accel: "tcg" as const, cpus: 2, memoryMiB: 512, disk: "d", job: "true\n", timeoutMs: 1000 };
    const args = qemuArgs(o, { socket: "/tmp/x.sock" }, true);
    expect(args.join(" ")).toContain("-chardev socket,id=results,path=/tmp/x.sock,server=on,wait=off -serial chardev:results");
    expect(args.join(" ")).toContain("debug-threads=on");
    expect(kernelCmdline("true\n", true)).toContain(" ringpoll.serve=1 ");
    expect(kernelCmdline("true\n")).not.toContain("serve");
  });

  it("rounds merge into one result per receiver; every run keeps its round and the host's load", () => {
    const [a] = session(3, 0, 1);
    expect(a.file!.results).toHaveLength(1);
    expect(a.file!.results[0]!.runs.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(a.file!.results[0]!.runs.map((r) => r.slot)).toEqual([0, 1, 0]);
    expect(a.file!.results[0]!.runs[0]!.extra).toMatchObject({ hostBusy: 0.5, hostOtherBusy: 0.2, hostGuestsBusy: 0.3 });
    expect(a.rounds).toHaveLength(3);
    expect(() => addRound(a, { schema: "other" }, { round: 3, slot: 0, position: 6, seconds: 1, ...load })).toThrow(/round 3 wrote no ringpoll result file/);
  });

  it("host load: busy share of all CPUs, the guests' part and the rest", () => {
    expect(cpuJiffies("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3")).toEqual({ busy: 150, total: 1000 });
    const l = loadBetween({ busy: 0, total: 0, guests: 0 }, { busy: 600, total: 1000, guests: 2 });
    expect(l.hostBusy).toBeCloseTo(0.6);
    expect(l.guestsBusy).toBeCloseTo(0.2);
    expect(l.otherBusy).toBeCloseTo(0.4);
  });

  it("pairs by round, leaving out rounds one side lacks", () => {
    const [a, b] = session(6, 0.05, 2);
    b.file!.results[0]!.runs.splice(1, 1);
    const pps = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5 }).comparisons.find((c) => c.metric === "pps")!;
    expect(pps.analysis).toBe("paired");
    expect(pps.pairs).toBe(5);
    expect(pps.notes.join(" ")).toMatch(/1 runs without a partner/);
  });

  it("a run with no packets (a starved guest) leaves its round out of the pairs instead of voiding the session", () => {
    const [a, b] = session(6, 0.05, 5);
    Object.assign(b.file!.results[0]!.runs[3]!, { pps: 0, packets: 0, cpuNsPerPacket: null });
    const report = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5 });
    for (const c of report.comparisons) {
      expect(c.analysis).toBe("paired");
      expect(c.pairs).toBe(5);
      expect(c.notes.join(" ")).toMatch(/left out of the pairs \(no value\): b\.json round 3: /);
    }
  });

  it("finds a 5 % injected slowdown under 20 % shared round-to-round noise (paired), and says so", () => {
    const [a, b] = session(8, 0.05, 3);
    const report = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5 });
    const pps = report.comparisons.find((c) => c.metric === "pps")!;
    expect(pps.analysis).toBe("paired");
    expect(pps.verdict).toBe("slower");
    expect(pps.ci![0]).toBeLessThan(0.95);
    expect(pps.ci![1]).toBeGreaterThan(0.93);
    expect(pps.notes.join(" ")).toMatch(/7\.0\.13 ran with 5 % injected/);
  });

  it("--max-other-busy leaves the rounds other work took over out of both sides, and says how many", () => {
    const [a, b] = session(40, 0.02, 7, false, 4);
    const all = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5 });
    const quiet = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5, maxOtherBusy: 0.5 });
    const pps = (r: typeof all) => r.comparisons.find((c) => c.metric === "pps")!;
    expect(pps(all)).toMatchObject({ pairs: 40, verdict: "no detectable difference" });
    expect(pps(quiet)).toMatchObject({ pairs: 30, verdict: "slower" });
    expect(pps(quiet).mde!).toBeLessThan(pps(all).mde! / 10);
    expect(pps(quiet).notes).toContain("10 of 40 rounds left out: other work used more than 50 % of the host during them (--max-other-busy)");
    expect(pps(all).notes.join(" ")).not.toMatch(/left out/);
  });

  it("compare --max-other-busy gives the same comparison from the files the matrix wrote", () => {
    const [a, b] = session(40, 0.02, 7, false, 4);
    const dir = mkdtempSync(join(tmpdir(), "ringpoll-busy-"));
    try {
      // as two kernels without injection: the params match as they are
      const [pa, pb] = [a, b].map((s, i) => {
        const path = join(dir, `${i}.json`);
        writeFileSync(path, JSON.stringify({ ...s.file!, results: s.file!.results.map((r) => ({ ...r, params: { ...r.params, injectPercent: 0 } })) }));
        return path;
      });
      const pps = (args: string[]) => JSON.parse(ringpoll(["compare", pa!, pb!, "--json", ...args]).stdout).comparisons[0];
      expect(pps([])).toMatchObject({ pairs: 40 });
      expect(pps(["--max-other-busy", "50"])).toMatchObject({ pairs: 30, verdict: "slower", notes: expect.arrayContaining([expect.stringMatching(/^10 of 40 rounds left out/)]) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("under emulation the verdict is withheld unless forced", () => {
    const [a, b] = session(6, 0.05, 4, true);
    const held = pairedReport([a, b], ["a.json", "b.json"], { force: false, targetPercent: 1.5 });
    expect(held.comparisons.every((c) => c.verdict === "no verdict" && /emulation/.test(c.reason!))).toBe(true);
    // the withheld comparison names the analysis --force would use: the runs pair by round
    for (const c of held.comparisons) expect(analysisLine(c)).toBe("paired by round (6 rounds of one interleaved session)");
    const forced = pairedReport([a, b], ["a.json", "b.json"], { force: true, targetPercent: 1.5 });
    expect(forced.comparisons.find((c) => c.metric === "pps")!.verdict).toBe("slower");
  });
});

describe("ringpoll matrix --interleave bad input", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["one kernel", ["--interleave", "--kernel", "7.0", "--", "bench", "pps"], /--interleave compares kernels: give at least two --kernel/],
    ["not a bench command", ["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--", "probe"], /--interleave runs a bench subcommand/],
    ["--rounds 1", ["--interleave", "--rounds", "1", "--kernel", "6.19", "--kernel", "7.0", "--", "bench"], /Expected an integer between 2 and 1000 for --rounds but received 1/],
    ["--inject-percent without --interleave", ["--inject-percent", "5", "--kernel", "7.0", "--", "bench"], /--inject-percent needs --interleave/],
    ["--max-other-busy without --interleave", ["--max-other-busy", "30", "--kernel", "7.0", "--", "bench"], /--max-other-busy needs --interleave/],
    ["--max-other-busy 0", ["--interleave", "--max-other-busy", "0", "--kernel", "6.19", "--kernel", "7.0", "--", "bench"], /Expected a positive percentage below 100 for --max-other-busy but received 0/],
    ["--inject-percent for a kernel not given", ["--interleave", "--inject-percent", "6.1=5", "--kernel", "6.19", "--kernel", "7.0", "--", "bench"], /Expected one of the --kernel values \(6\.19, 7\.0\) before = in --inject-percent but received "6\.1"/],
    ["--inject-percent -3", ["--interleave", "--inject-percent=-3", "--kernel", "6.19", "--kernel", "7.0", "--", "bench"], /Expected a percentage above 0 and up to 1000 for --inject-percent but received "-3"/],
    ["--inject-percent given to bench", ["--interleave", "--kernel", "6.19", "--kernel", "7.0", "--", "bench", "pps", "--inject-percent", "5"], /give --inject-percent to matrix \(one side\), not to bench/],
  ];
  it.each(cases)("%s: exit 2 and one line", (_name, args, message) => {
    const r = ringpoll(["matrix", ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.status).toBe(2);
  });
});
