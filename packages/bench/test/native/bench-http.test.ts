// `ringpoll bench http`: every server answers every case without errors, the result file is one
// compare can read, and bad input exits 2 with one line. No timing assertions.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dist = (p: string): string => fileURLToPath(new URL(`../../dist/${p}`, import.meta.url));
const { loadResultFile } = (await import(dist("compare/input.js"))) as typeof import("../../src/compare/input.js");
const { wrkMissing } = (await import(dist("http/wrk.js"))) as typeof import("../../src/http/wrk.js");
const { HTTP_SERVERS } = (await import(dist("http/servers.js"))) as typeof import("../../src/http/servers.js");

const tmp = mkdtempSync(join(tmpdir(), "ringpoll-bench-http-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const noWrk = wrkMissing();

function cli(args: string[]) {
  return spawnSync(process.execPath, [dist("cli.js"), ...args], { encoding: "utf8", timeout: 120_000, cwd: tmp });
}

describe("bench http", () => {
  it.skipIf(noWrk !== null)(`each server answers keep-alive and churn load without errors; compare reads the file${noWrk ? ` (skipped: ${noWrk})` : ""}`, { timeout: 120_000 }, () => {
    const out = join(tmp, "http.json");
    const args = ["bench", "http", "--duration", "0.5", "--warmup", "0", "--runs", "2", "--connections", "4", "--churn-connections", "2", "--body", "13,16384", "--out", out, "--no-progress"];
    const r = cli(args);
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
    const { data } = loadResultFile(out);
    expect(data.results.map((x) => `${x.receiver} ${x.params.mode} ${x.params.connections} ${x.params.body}`).sort()).toEqual(
      HTTP_SERVERS.flatMap((s) => [`${s} keep-alive 4 13`, `${s} keep-alive 4 16384`, `${s} close 2 13`, `${s} close 2 16384`]).sort(),
    );
    for (const result of data.results) {
      expect(result.runs).toHaveLength(2);
      const [run] = result.runs;
      expect(run!.tps).toBeGreaterThan(0);
      expect(run!.cpuNsPerPacket).toBeGreaterThan(0);
      expect(run!.extra).toMatchObject({ socketErrors: 0, non2xx: 0 });
      expect(run!.extra!.p99Us as number).toBeGreaterThanOrEqual(run!.extra!.p50Us as number);
      expect(run!.extra!.rssKiB as number).toBeGreaterThan(0);
      // Every response carries the body asked for: bytes read cover packets × body.
      expect(run!.extra!.bytes as number).toBeGreaterThan(run!.packets * Number(result.params.body));
    }
    // A second session of one case: compare matches it with the same case of the first.
    const again = join(tmp, "http-again.json");
    expect(cli(["bench", "http", "--duration", "0.5", "--warmup", "0", "--runs", "2", "--modes", "keep-alive", "--connections", "4", "--body", "13", "--out", again, "--no-progress"]).status).toBe(0);
    const compare = cli(["compare", out, again]);
    expect(compare.stderr).toBe("");
    expect(compare.status).toBe(0);
    expect(compare.stdout).toMatch(/^http node \(mode=keep-alive connections=4 body=13 /m);
  });

  it("the same CPU for wrk and the server exits 2 with one line", () => {
    const r = cli(["bench", "http", "--cpu-client", "0", "--cpu-server", "0", "--no-progress"]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("an unknown server exits 2 with one line naming the choices", () => {
    const r = cli(["bench", "http", "--servers", "apache"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Expected one of .*node.* for --servers but received apache/);
  });
});
