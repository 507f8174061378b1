// The programs in examples/ are what a user starts from: each runs as `node examples/<x>.mjs` from
// the repository root, importing "ringpoll" by its package name, and must print its result and exit 0.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

function run(example: string, args: string[] = []) {
  const r = spawnSync(process.execPath, [`examples/${example}`, ...args], { cwd: root, encoding: "utf8", timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("examples/", () => {
  it("udp-multishot.mjs receives every datagram it sent itself through recvMultishot", () => {
    const r = run("udp-multishot.mjs", ["200"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^received 200 datagrams \(\d+ bytes\) on port \d+ via recvMultishot\n$/);
    expect(r.status).toBe(0);
  });

  it("epoll-loop.mjs gets both UDP datagrams and the TCP message from one Epoll", () => {
    const r = run("epoll-loop.mjs");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^epoll: 3 messages \[tcp hello, udp 0, udp 1\] in \d+ wake-ups\n$/);
    expect(r.status).toBe(0);
  });

  it("wake-latency.mjs receives every datagram another process sent on each kind of ring, and says how late", () => {
    const r = run("wake-latency.mjs", ["20"]);
    expect(r.stderr).toBe("");
    const line = (mode: string) => new RegExp(`^${mode}: 20 datagrams, p50 \\d+ µs, p90 \\d+ µs$`);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(line("deferTaskrun"));
    expect(lines[1]).toMatch(line("coopTaskrun"));
    expect(lines[2]).toMatch(line("plain"));
    expect(r.status).toBe(0);
  });

  it("iopoll-read.mjs reads with polling where the device has poll queues, else says why in one line", () => {
    const r = run("iopoll-read.mjs");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^(iopoll: read 65536 bytes in 16 polled reads from .+ \(device \S+, io_poll=1\)|iopoll: not available here, nothing to poll: io_uring read EOPNOTSUPP: .+ \(.+\)|iopoll: not available here: the filesystem of .+ refuses O_DIRECT)\n$/,
    );
    expect(r.status).toBe(0);
  });

  // The QEMU kernel matrix names a device with poll queues: there the read must really happen.
  it.skipIf(!process.env.RINGPOLL_IOPOLL_DEVICE)(
    `iopoll-read.mjs reads RINGPOLL_IOPOLL_DEVICE for real${process.env.RINGPOLL_IOPOLL_DEVICE ? "" : " (skipped: RINGPOLL_IOPOLL_DEVICE is not set)"}`,
    () => {
      const r = run("iopoll-read.mjs", [process.env.RINGPOLL_IOPOLL_DEVICE!]);
      expect(r.stdout).toMatch(/^iopoll: read 65536 bytes in 16 polled reads .* io_poll=1\)\n$/);
      expect(r.status).toBe(0);
    },
  );
});
