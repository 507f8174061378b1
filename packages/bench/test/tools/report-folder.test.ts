// `ringpoll report` on what a user really has: a folder of mixed results, fixed-rate runs, labels
// with HTML in them, and result files too large to read whole.
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { beforeAll, describe, expect, it } from "vitest";
import { ringpoll } from "./cli.js";
import { noiseProfile, normals, result, resultFile, runs, sample, tmp, writeJson } from "./results.js";

let dir: string;
// files recorded apart (one session each): a near-zero between-session noise profile lets the
// report give verdicts (docs/statistics.md, "Sessions")
let env: Record<string, string>;

beforeAll(() => {
  dir = tmp();
  env = { RINGPOLL_NOISE_PROFILE: noiseProfile(dir) };
});

function page(path: string): string {
  return readFileSync(path, "utf8");
}

describe("report on a folder of mixed results", () => {
  it("compares the results that match, shows the others on their own, skips another tool's JSON", () => {
    const folder = join(dir, "mixed");
    mkdirSync(folder);
    writeJson(folder, "6.19.json", resultFile("6.19.0", [result("epoll", sample(1, 6, 1e6, 0.02)), result("recvmmsg", sample(2, 6, 1.2e6, 0.02))]));
    writeJson(folder, "7.0.json", resultFile("7.0.0", [result("epoll", sample(3, 6, 1.1e6, 0.02))]));
    writeJson(folder, "rr.json", resultFile("7.0.0", [result("epoll", sample(4, 6, 9e4, 0.02), { scenario: "udp-rr", params: { flows: 1000 } })]));
    writeJson(folder, "probe.json", { kernel: { release: "7.0.0" } });
    writeFileSync(join(folder, "notes.txt"), "not json");
    const html = join(dir, "mixed.html");
    const r = ringpoll(["report", folder, "--html", html], env);
    expect(r.stderr).toMatch(/note: skipped .*probe\.json: expected schema/);
    expect(r.status).toBe(0);
    const p = page(html);
    // epoll is in both pps files: compared, 7.0 as head (two files of 7.0.0: the label adds the name)
    expect(p).toMatch(/7\.0\.0 · 7\.0\.json is [\d.]+ % faster than 6\.19\.0/);
    // recvmmsg and udp-rr are each in one file only
    const alone = p.slice(p.indexOf("Shown on their own"));
    expect(alone).toMatch(/pps recvmmsg \(flows=1 size=64\)/);
    expect(alone).toMatch(/udp-rr epoll \(flows=1000\)/);
    expect(p).toMatch(/skipped .*probe\.json/);
  });

  it("files of one interleaved session (a matrix --interleave folder) are compared paired by round", () => {
    const folder = join(dir, "session");
    mkdirSync(folder);
    const session = { id: "s-1", startedAt: "2026-01-01T00:00:00.000Z", interleaved: true };
    const shared = sample(11, 8, 1e6, 0.2); // the host's swings, the same for both sides of a round
    const side = (kernel: string, factor: number, seed: number) => {
      const z = normals(seed);
      return resultFile(kernel, [result("epoll", shared.map((v) => v * factor * Math.exp(0.003 * z())))], { session } as never);
    };
    writeJson(folder, "6.19.json", side("6.19.0", 1, 100));
    writeJson(folder, "7.0.json", side("7.0.0", 1.03, 200));
    const html = join(dir, "session.html");
    const r = ringpoll(["report", folder, "--html", html, "--no-noise-profile"]);
    expect(r.status, r.stderr).toBe(0);
    const p = page(html);
    expect(p).toMatch(/paired by round \(8 rounds of one interleaved session, correlation 1\.00\)/);
    expect(p).toMatch(/7\.0\.0 is [\d.]+ % faster than 6\.19\.0/);
  });

  it("at a fixed --rate the headline is CPU time per packet (every receiver gets the same packets per second)", () => {
    const atRate = (kernel: string, cpuNs: number[]) =>
      resultFile(kernel, [
        result("epoll", [], {
          params: { flows: 8, size: 64, rate: 50000 },
          runs: runs(cpuNs.map(() => 50000)).map((run, i) => ({ ...run, cpuNsPerPacket: cpuNs[i]! })),
        }),
      ]);
    const a = writeJson(dir, "rate-a.json", atRate("6.19.0", sample(5, 6, 2000, 0.01)));
    const b = writeJson(dir, "rate-b.json", atRate("7.0.0", sample(6, 6, 1800, 0.01)));
    const html = join(dir, "rate.html");
    const r = ringpoll(["report", a, b, "--html", html], env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const p = page(html);
    expect(p).toMatch(/Median cpuNsPerPacket per kernel and receiver/);
    expect(p).toMatch(/<td>cpuNsPerPacket<\/td>/);
    expect(p).not.toMatch(/<td>pps<\/td>/);
    // lower is better
    expect(p).toMatch(/7\.0\.0 uses [\d.]+ % less CPU per packet than 6\.19\.0/);
  });

  it("escapes every string from the files: a <script> label stays text", () => {
    const evil = "<script>alert(1)</script>";
    const f = (kernel: string, seed: number) =>
      resultFile(kernel, [result(evil, sample(seed, 5, 1e6, 0.02), { params: { [evil]: evil, flows: 1 } })], {
        env: { kernel: { release: kernel }, cpu: { modelName: evil }, warnings: [evil] } as never,
        createdAt: evil,
      });
    const a = writeJson(dir, `${"a"}-x.json`, f(`6.19${evil}`, 7));
    const b = writeJson(dir, "b-x.json", f(`7.0${evil}`, 8));
    const html = join(dir, "escaped.html");
    const r = ringpoll(["report", a, b, "--html", html, "--title", evil]);
    expect(r.status, r.stderr).toBe(0);
    const p = page(html);
    expect(p).not.toMatch(/<script/i);
    expect(p).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("a result file too large to read whole is streamed and summarised, and the page says so", async () => {
    // ~20 MB: 40,000 runs of 1 s with 50 per-second samples each; the report keeps the runs' figures only
    const path = join(dir, "huge.json");
    const out = createWriteStream(path);
    const head = resultFile("6.19.0", []);
    out.write(JSON.stringify({ ...head, results: undefined }).slice(0, -1) + ',"results":[{"scenario":"pps","receiver":"epoll","params":{"flows":1,"size":64},"summary":{"median":0,"cv":0},"runs":[');
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const v = 1e6 + (i % 7) * 1000;
      const run = { round: i, pps: v, packets: v, seconds: 1, cpuNsPerPacket: 1000, receiverBusy: 0.9, kernel: null, samples: Array.from({ length: 50 }, () => v), extra: { note: "x".repeat(40) } };
      if (!out.write((i ? "," : "") + JSON.stringify(run))) await once(out, "drain");
    }
    out.end("]}]}");
    await once(out, "finish");
    const small = writeJson(dir, "small.json", resultFile("7.0.0", [result("epoll", sample(9, 6, 1.05e6, 0.01))]));
    const html = join(dir, "huge.html");
    const r = ringpoll(["report", path, small, "--html", html], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/huge\.json: \d+ MiB, streamed: 40000 runs summarised \(figures per run kept; per-second samples and extras left out\)/);
    const p = page(html);
    expect(p).toMatch(/streamed: 40000 runs summarised/);
    // the figures are all there: 40,000 runs compared with the small file
    expect(p).toMatch(/n=40000/);
    expect(p).toMatch(/7\.0\.0 is [\d.]+ % faster than 6\.19\.0/);
  });
});
