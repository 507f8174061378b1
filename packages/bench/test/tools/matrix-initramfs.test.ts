// ringpoll matrix, guest side: what goes into the initramfs, the cache key, the job script and the
// results channel.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DONE, doneLine, frameText, parseChannel, ROUND_ERROR, roundErrorLine, shellQuote } from "../../dist/matrix/channel.js";
import { buildInitramfs, layoutKey, packageClosure, planLayout, projectRoot } from "../../dist/matrix/initramfs.js";
import { guestRingpollArgs, jobScript, parseSysctl } from "../../dist/matrix/job.js";
import { kernelCmdline } from "../../dist/matrix/qemu.js";

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), "ringpoll-matrix-initramfs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const have = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const missing = ["cpio", "busybox"].filter((c) => !have(c));
const noTools = missing.length ? ` (skipped: ${missing.join(" and ")} not installed; scripts/packages.sh lists them)` : "";

describe("initramfs contents", () => {
  it.skipIf(missing.length > 0)(`the vitest image holds init, busybox, node with its libraries, the built project, vitest and the native tests, not the dev tools${noTools}`, async () => {
    const image = await buildInitramfs({ mode: "vitest", cacheDir: dir });
    const names = new Set(execFileSync("cpio", ["-it", "--quiet", "-F", image.path], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n"));
    for (const want of [
      "init",
      "bin/busybox",
      "usr/bin/node",
      "ringpoll/package.json",
      "ringpoll/packages/bench/dist/cli.js",
      "ringpoll/packages/bench/build/Release/ringpoll_bench.node",
      "ringpoll/node_modules/ringpoll/dist/lib/index.js",
      "ringpoll/node_modules/ringpoll/build/Release/ringpoll.node",
      "ringpoll/node_modules/bindings/package.json",
      "ringpoll/node_modules/commander/package.json",
      "ringpoll/node_modules/vitest/vitest.mjs",
      "ringpoll/node_modules/vite/package.json",
      "ringpoll/vitest.config.ts",
      "ringpoll/tsconfig.base.json",
      "ringpoll/packages/ringpoll/tsconfig.json",
      "ringpoll/packages/ringpoll/test/native/epoll.test.ts",
      "ringpoll/packages/bench/test/native/bench.test.ts",
    ]) {
      expect(names, want).toContain(want);
    }
    // ldd's answer for node: the loader and libc at the paths node asks for
    const ldd = execFileSync("ldd", [process.execPath], { encoding: "utf8" });
    for (const lib of ldd.match(/\/\S+(?=\s+\(0x)/g) ?? []) expect(names, lib).toContain(lib.slice(1));
    // dev-only packages stay out
    expect([...names].some((n) => n.startsWith("ringpoll/node_modules/typescript/"))).toBe(false);
    expect([...names].some((n) => n.startsWith("ringpoll/packages/") && n.includes("/test/tools/"))).toBe(false);

    const again = await buildInitramfs({ mode: "vitest", cacheDir: dir });
    expect(again).toMatchObject({ path: image.path, reused: true });
    // Packing node, node_modules and the project took over 60 s once with TCG guests running.
  }, 180_000);

  it("the run image carries the runtime dependencies only", () => {
    const layout = planLayout(root, "run");
    const dests = [...layout.files.keys()];
    expect(dests).toContain("ringpoll/node_modules/commander/package.json");
    expect(dests.some((d) => d.startsWith("ringpoll/node_modules/vitest/"))).toBe(false);
    expect(dests.some((d) => d.startsWith("ringpoll/packages/") && d.includes("/test/"))).toBe(false);
  });

  it("follows dependencies of dependencies (bindings needs file-uri-to-path)", () => {
    const dirs = packageClosure(root, ["bindings"]).map((d) => d.slice(root.length + 1));
    expect(dirs).toEqual(["node_modules/bindings", "node_modules/file-uri-to-path"]);
    expect(() => packageClosure(root, ["no-such-package-ringpoll"])).toThrow(/package no-such-package-ringpoll is not installed/);
  });

  it("the cache key follows project file contents, and system files by size and mtime", async () => {
    const project = join(dir, "project.js");
    const system = join(dir, "libsystem.so");
    writeFileSync(project, "a");
    writeFileSync(system, "x");
    const layout = { files: new Map([["ringpoll/project.js", project], ["lib/libsystem.so", system]]), project: new Set(["ringpoll/project.js"]) };
    const k1 = await layoutKey(layout, "run");
    expect(await layoutKey(layout, "run")).toBe(k1);
    expect(await layoutKey(layout, "vitest")).not.toBe(k1);
    writeFileSync(project, "b");
    const k2 = await layoutKey(layout, "run");
    expect(k2).not.toBe(k1);
    utimesSync(system, new Date(0), new Date(0));
    expect(await layoutKey(layout, "run")).not.toBe(k2);
  });
});

describe("job and channel", () => {
  it("a bench command writes its result where the guest sends it from", () => {
    expect(guestRingpollArgs(["bench", "iops", "--out", "x.json", "--polled"])).toEqual(["bench", "iops", "--polled", "--out", "/tmp/ringpoll-result.json"]);
    expect(guestRingpollArgs(["bench", "pps", "--out=x.json"])).toEqual(["bench", "pps", "--out", "/tmp/ringpoll-result.json"]);
    expect(guestRingpollArgs(["probe", "--json"])).toEqual(["probe", "--json"]);
  });

  it("the job sets the guest contract, the sysctls, and quotes the command for sh", () => {
    const script = jobScript({ kind: "ringpoll", args: ["probe", "--label", "it's"], sysctls: [["kernel.io_uring_disabled", "2"]], emulated: true });
    expect(script).toContain("RINGPOLL_GUEST=1 RINGPOLL_EMULATED=1 RINGPOLL_IOPOLL_DEVICE=/dev/nvme0n1");
    expect(script).toContain("echo 2 > /proc/sys/kernel/io_uring_disabled");
    expect(script).toContain(`exec node packages/bench/dist/cli.js probe --label 'it'\\''s'`);
    const out = execFileSync("sh", ["-c", `printf '%s\\n' ${shellQuote(["a b", "it's", "$HOME", "*"])}`], { encoding: "utf8" });
    expect(out).toBe("a b\nit's\n$HOME\n*\n");
  });

  it("the round server's answer: the result arrives whole, a failure as one error line, then the status", () => {
    const result = Buffer.from(JSON.stringify({ schema: "ringpoll.bench.v2", pad: "x".repeat(5000), bytes: [0, 255] }));
    const ok = frameText("result", result) + doneLine("7", 0);
    expect(parseChannel(ok).frames.get("result")).toEqual(result);
    expect(DONE.exec(ok)?.slice(1)).toEqual(["7", "0"]);
    const failed = roundErrorLine("3", "ENOENT: no such file\n    at access") + doneLine("3", 1);
    expect(ROUND_ERROR.exec(failed)?.slice(1)).toEqual(["3", "ENOENT: no such file at access"]);
    expect(DONE.exec(failed)?.slice(1)).toEqual(["3", "1"]);
  });

  it("--interleave's job is the round server, with the bench's result file where the server reads it", () => {
    const script = jobScript({ kind: "ringpoll", args: ["bench", "pps", "--runs", "1"], sysctls: [], emulated: true, serve: true });
    expect(script).toContain("exec node packages/bench/dist/matrix/serve.js bench pps --runs 1 --out /tmp/ringpoll-result.json");
  });

  it("--sysctl takes key=value only", () => {
    expect(parseSysctl("kernel.io_uring_disabled=2")).toEqual(["kernel.io_uring_disabled", "2"]);
    expect(parseSysctl("net.ipv4.tcp_rmem=4096 87380 6291456")).toEqual(["net.ipv4.tcp_rmem", "4096 87380 6291456"]);
    for (const bad of ["kernel", "=2", "kernel.x=", "../../etc=1", "kernel/x=1"]) {
      expect(() => parseSysctl(bad)).toThrow(/^Expected key=value \(e\.g\. kernel\.io_uring_disabled=2\) for --sysctl but received /);
    }
  });

  it("a command too long for the kernel command line is refused before booting", () => {
    expect(kernelCmdline("exit 0\n")).toMatch(/ nvme\.poll_queues=1 .*ringpoll\.job=ZXhpdCAwCg==$/);
    expect(() => kernelCmdline("x".repeat(2000))).toThrow(/too long for the kernel command line \(\d+ > 2048 bytes\)/);
  });

  it("frames come back byte for byte; no exit line means the guest never reported", () => {
    const payload = Buffer.from([0, 1, 2, 255, 10, 13]);
    const b64 = payload.toString("base64");
    const text = `noise\r\n@@ringpoll begin result\r\n${b64.slice(0, 4)}\r\n${b64.slice(4)}\r\n@@ringpoll end result\r\n@@ringpoll exit 3\r\n`;
    const ch = parseChannel(text);
    expect(ch.exit).toBe(3);
    expect(ch.frames.get("result")).toEqual(payload);
    expect(parseChannel("@@ringpoll begin stdout\nAAAA\n").exit).toBeNull();
  });
});
