// `ringpoll bench tcp-rr`: every server answers every request of every case (whole responses at
// sizes that arrive in pieces) and the result file loads. No timing assertions.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dist = (p: string): string => fileURLToPath(new URL(`../../dist/${p}`, import.meta.url));
const { loadResultFile } = (await import(dist("compare/input.js"))) as typeof import("../../src/compare/input.js");
const tmp = mkdtempSync(join(tmpdir(), "ringpoll-tcp-rr-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("bench tcp-rr", () => {
  it("runs the native client against every server, one request outstanding per connection, and in churn mode", { timeout: 120_000 }, () => {
    const out = join(tmp, "rr.json");
    const args = ["bench", "tcp-rr", "--connections", "8", "--churn-connections", "4", "--size", "64,65536", "--duration", "0.3", "--warmup", "0.1", "--runs", "1", "--cpu-client", "0", "--cpu-server", "1", "--out", out];
    const r = spawnSync(process.execPath, [dist("cli.js"), ...args], { encoding: "utf8", timeout: 110_000, cwd: tmp });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const { data: file } = loadResultFile(out);
    expect(file.results.map((x) => `${x.receiver} ${x.params.mode} ${x.params.body}`).sort()).toEqual(
      ["batch-io_uring", "duplex-epoll", "duplex-io_uring", "native-io_uring", "node"].flatMap((s) => ["rr", "churn"].flatMap((m) => [`${s} ${m} 64`, `${s} ${m} 65536`])).sort(),
    );
    expect(r.stdout).toMatch(/txn\/s/);
    for (const res of file.results) expect(res.runs[0]!.packets).toBeGreaterThan(0);
    // churn runs the io_uring client by default (epoll where the kernel lacks CQE_SKIP)
    for (const res of file.results.filter((x) => x.params.mode === "churn")) expect(res.runs[0]!.extra?.client).toMatch(/^(io_uring churn|epoll)$/);
  });

  it("--churn-client epoll churns through the epoll client, and every server answers it", { timeout: 120_000 }, () => {
    const out = join(tmp, "churn.json");
    const args = ["bench", "tcp-rr", "--modes", "churn", "--churn-client", "epoll", "--churn-connections", "4", "--size", "64", "--servers", "node,batch-io_uring", "--duration", "0.3", "--warmup", "0.1", "--runs", "1", "--cpu-client", "0", "--cpu-server", "1", "--out", out];
    const r = spawnSync(process.execPath, [dist("cli.js"), ...args], { encoding: "utf8", timeout: 110_000, cwd: tmp });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const { data: file } = loadResultFile(out);
    expect(file.results.map((x) => `${x.receiver} ${x.params.mode} ${x.params.client}`).sort()).toEqual(["batch-io_uring churn epoll", "node churn epoll"]);
    for (const res of file.results) {
      expect(res.runs[0]!.packets).toBeGreaterThan(0);
      expect(res.runs[0]!.extra?.client).toBe("epoll");
    }
  });

  it("slow-reader: every server's bytes arrive intact after the client stalled, with the RSS reported", { timeout: 120_000 }, () => {
    const out = join(tmp, "slow.json");
    const args = ["bench", "slow-reader", "--bytes", String(32 * 1024 * 1024), "--stall", "0.3", "--cpu-server", "1", "--out", out];
    const r = spawnSync(process.execPath, [dist("cli.js"), ...args], { encoding: "utf8", timeout: 110_000, cwd: tmp });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status, r.stdout).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^(node|duplex-)/.test(l));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(["node", "duplex-io_uring", "duplex-epoll"]);
    for (const row of rows) expect(row).toMatch(/ 32 MiB +32 MiB +yes /);
    const { data: file } = loadResultFile(out);
    expect(file.results.map((x) => [x.scenario, x.receiver, x.params.bytes])).toEqual(["node", "duplex-io_uring", "duplex-epoll"].map((s) => ["slow-reader", s, 32 * 1024 * 1024]));
    for (const res of file.results) {
      expect(res.runs[0]!.packets).toBe(32 * 1024 * 1024);
      expect(res.runs[0]!.extra).toMatchObject({ intact: true, rssStalledMaxKiB: expect.any(Number) });
    }
  });
});
