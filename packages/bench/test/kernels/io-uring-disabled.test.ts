// A 7.0.x guest with kernel.io_uring_disabled=2: the probe and the library explain the EPERM.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { matrix, results, tail } from "./matrix.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-kernels-disabled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const disabled = ["--kernel", "7.0", "--sysctl", "kernel.io_uring_disabled=2", "--quiet"];

describe("kernel.io_uring_disabled=2 in a 7.0.x guest", () => {
  it("uring-probe.test.ts passes (io_uring-dependent tests skip with the reason)", async () => {
    const out = join(dir, "vitest");
    const r = await matrix([...disabled.filter((a) => a !== "--quiet"), "--out", out, "--vitest", "--", "packages/ringpoll/test/native/uring-probe.test.ts"]);
    const report = [...results(out).values()][0];
    expect(report?.success, tail(r, 60)).toBe(true);
    expect(report.numPassedTests).toBeGreaterThan(0);
    expect(r.status, tail(r, 60)).toBe(0);
  });

  it("new IoUring() throws EPERM naming the sysctl, and probe() says why io_uring is refused", async () => {
    const out = join(dir, "api");
    const script = [
      `const m = await import("/ringpoll/node_modules/ringpoll/dist/lib/index.js");`,
      `const io = m.probe().ioUring;`,
      `let err = null; try { new m.IoUring().close(); } catch (e) { err = { code: e.code, syscall: e.syscall, message: e.message }; }`,
      `console.log(JSON.stringify({ available: io.available, reason: io.reason, err }));`,
    ].join(" ");
    const r = await matrix([...disabled, "--out", out, "--shell", "--", "node", "--input-type=module", "-e", `'${script}'`]);
    expect(r.status, tail(r)).toBe(0);
    const got = [...results(out).values()][0];
    expect(got, tail(r)).toMatchObject({ available: false, err: { code: "EPERM" } });
    expect(got.reason).toMatch(/kernel\.io_uring_disabled=2/);
    expect(got.err.message).toMatch(/EPERM.*kernel\.io_uring_disabled=2/);
  });

  it("ringpoll/net with backend 'auto' falls back to epoll, says why, and serves", async () => {
    const out = join(dir, "net");
    const script = [
      `const net = await import("node:net");`,
      `const { createServer } = await import("/ringpoll/node_modules/ringpoll/dist/lib/net/index.js");`,
      `const server = createServer((s) => s.pipe(s));`,
      `server.listen(0, "127.0.0.1", () => { const c = net.connect(server.address().port, "127.0.0.1"); let got = "";`,
      `c.on("data", (d) => (got += d)); c.on("end", () => { console.log(JSON.stringify({ backend: server.backend, got })); server.close(); }); c.end("echo"); });`,
    ].join(" ");
    const r = await matrix([...disabled, "--out", out, "--shell", "--", "node", "--input-type=module", "-e", `'${script}'`]);
    expect(r.status, tail(r)).toBe(0);
    const got = [...results(out).values()][0];
    expect(got, tail(r)).toMatchObject({ backend: { name: "epoll" }, got: "echo" });
    expect(got.backend.reason).toMatch(/^auto: io_uring_setup EPERM.*kernel\.io_uring_disabled=2/);
  });
});
