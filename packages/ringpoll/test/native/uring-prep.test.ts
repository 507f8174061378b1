// Preparing requests: a refused request leaves nothing in the SQ, a linked timeout is never split
// from its request, and setup failures are errors, not crashes (issue 15 defects 1-3).
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { IoUring, sys } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings, eachConfig, lacks } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(async () => {
  await rings.closeAll();
  fds.closeAll();
});

/** Every datagram waiting on a nonblocking UDP socket. */
function drain(fd: number): string[] {
  const got: string[] = [];
  const buf = Buffer.alloc(64);
  for (let n = sys.read(fd, buf); n !== null; n = sys.read(fd, buf)) got.push(buf.toString("utf8", 0, n));
  return got;
}

eachConfig("preparing requests", (options) => {
  it("a refused address leaves no SQE behind: inflight stays exact and no stale request reaches the kernel", async () => {
    const ring = rings.open(options);
    const a = fds.udp();
    const b = fds.udp();
    const c = fds.track(sys.tcpSocket());
    expect(await ring.sendmsg(a.fd, Buffer.from("once"), b.port)).toBe(4);
    for (let i = 0; i < 6; i++) {
      await expect(ring.sendmsg(a.fd, Buffer.from("stale"), b.port, "localhost")).rejects.toMatchObject({ code: "EINVAL" });
    }
    await expect(ring.connect(c, b.port, "::1")).rejects.toMatchObject({ code: "EINVAL" });
    expect(ring.inflight).toBe(0);
    // Whatever used those SQ slots before must not be submitted again by the next submit.
    await expect(ring.nop()).resolves.toBe(0);
    await ring.timeout(20);
    expect(ring.inflight).toBe(0);
    expect(drain(b.fd)).toEqual(["once"]);
  });

  it("a request that takes the last SQ slot keeps its linked timeout", async () => {
    const ring = rings.open({ ...options, entries: 4 });
    const [r] = fds.pipe();
    // Three SQEs queued in this turn: the read takes the fourth and last slot.
    const nops = [ring.nop(), ring.nop(), ring.nop()];
    const read = ring.read(r, Buffer.alloc(8), { timeoutMs: 20 });
    const guard = new Promise((resolve) => setTimeout(resolve, 10_000, "no completion"));
    await expect(Promise.race([read, guard])).rejects.toMatchObject({ code: "ETIMEDOUT", syscall: "io_uring read" });
    await Promise.all(nops);
    expect(ring.inflight).toBe(0);
  });
});

describe("setup failures", () => {
  it.skipIf(lacks.deferTaskrun)(
    `no free fd for the eventfd: an EMFILE error, not a crash${lacks.deferTaskrun ? ` (skipped: ${lacks.deferTaskrun})` : ""}`,
    () => {
      // io_uring_setup gets the last free fd; eventfd() then fails.
      const script = `
        import { openSync, closeSync } from "node:fs";
        import { IoUring } from "ringpoll";
        const fds = [];
        try { for (;;) fds.push(openSync("/dev/null", "r")); } catch (e) { if (e.code !== "EMFILE") throw e; }
        closeSync(fds.pop());
        try { new IoUring({ deferTaskrun: true }); console.log("created"); }
        catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall })); }`;
      const out = execFileSync("sh", ["-c", `ulimit -n 64 && exec "${process.execPath}" --input-type=module -e '${script}'`], {
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(JSON.parse(out)).toEqual({ code: "EMFILE", syscall: "eventfd" });
    },
  );

  const sanitized = process.env.RINGPOLL_SANITIZED === "1";
  it.skipIf(sanitized)(
    `alignedBuffer out of memory is an ENOMEM SystemError${sanitized ? " (skipped: ASan cannot run under an address-space limit)" : ""}`,
    () => {
      const script = `
        import { alignedBuffer } from "ringpoll";
        try { alignedBuffer(2 ** 31 - 1); console.log("allocated"); }
        catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall })); }`;
      const out = execFileSync("sh", ["-c", `ulimit -v 2500000 && exec "${process.execPath}" --input-type=module -e '${script}'`], {
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(JSON.parse(out)).toEqual({ code: "ENOMEM", syscall: "posix_memalign" });
    },
  );
});
