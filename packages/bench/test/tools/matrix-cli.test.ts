// ringpoll matrix from the command line: bad input exits 2 with one line, before anything boots;
// a missing QEMU says how to install it.
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ringpoll } from "./cli.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-matrix-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ringpoll matrix bad input", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["no --kernel", ["matrix", "--", "probe"], /^ringpoll matrix: no kernel: give --kernel 6\.19 --kernel 7\.0/],
    ["a --kernel that is no version", ["matrix", "--kernel", "latest", "--", "probe"], /Expected a kernel series \(7\.0\), a full version \(7\.0\.13\) or a path to a vmlinuz file for --kernel but received "latest"/],
    ["an unknown --accel", ["matrix", "--kernel", "7.0", "--accel", "hvf", "--", "probe"], /Expected auto, kvm or tcg for --accel but received hvf/],
    ["--cpus 0", ["matrix", "--kernel", "7.0", "--cpus", "0", "--", "probe"], /Expected an integer between 1 and 64 for --cpus but received 0/],
    ["--memory 12", ["matrix", "--kernel", "7.0", "--memory", "12", "--", "probe"], /Expected an integer between 256 and 65536 for --memory but received 12/],
    ["a --sysctl without =", ["matrix", "--kernel", "7.0", "--sysctl", "kernel.io_uring_disabled", "--", "probe"], /Expected key=value .* for --sysctl but received "kernel.io_uring_disabled"/],
    ["--vitest with --shell", ["matrix", "--kernel", "7.0", "--vitest", "--shell"], /--vitest and --shell exclude each other/],
    ["no command", ["matrix", "--kernel", "7.0"], /nothing to run: give the command after --/],
    ["an unknown subcommand", ["matrix", "--kernel", "7.0", "--", "frobnicate"], /Expected a ringpoll subcommand \(probe, .*compare.*\) after -- but received "frobnicate"/],
    ["a kernel path that does not exist", ["matrix", "--kernel", "/nonexistent/vmlinuz", "--", "probe"], /received "\/nonexistent\/vmlinuz" \(no such file\)/],
  ];
  it.each(cases)("%s: exit 2 and one clear line", (_name, args, message) => {
    const r = ringpoll(args);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("without QEMU it says how to install it, before fetching anything", () => {
    // PATH with node only: no qemu-system-x86_64
    symlinkSync(process.execPath, join(dir, "node"));
    const r = ringpoll(["matrix", "--kernel", "7.0", "--", "probe"], { PATH: dir });
    expect(r.stderr).toMatch(/^ringpoll matrix: qemu-system-x86_64 not found: install QEMU \(Debian\/Ubuntu: apt-get install qemu-system-x86/m);
    expect(r.stderr).not.toMatch(/fetching/);
    expect(r.status).toBe(1);
  });
});
