// ringpoll matrix end to end: probe on both kernels (one result file each, labelled when emulated),
// and the faults: a panicking guest, a hanging one, Ctrl-C.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KernelStore } from "../../dist/matrix/kernels.js";
import { boot, findQemu, retryBootPanic } from "../../dist/matrix/qemu.js";
import { matrix, results, tail } from "./matrix.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-kernels-matrix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ringpoll matrix", () => {
  it("--kernel 6.19 --kernel 7.0 -- probe --json writes one probe per kernel and a summary", async () => {
    const out = join(dir, "probe");
    const r = await matrix(["--kernel", "6.19", "--kernel", "7.0", "--quiet", "--out", out, "--", "probe", "--json"]);
    expect(r.status, tail(r)).toBe(0);
    const files = results(out);
    expect([...files.keys()].map((k) => k.split(".").slice(0, 2).join(".")).sort()).toEqual(["6.19", "7.0"]);
    for (const [release, probe] of files) {
      expect(probe.kernel.release).toBe(release);
      expect(probe.matrix.kernel).toBe(release);
      expect(probe.emulated).toBe(probe.matrix.accel === "tcg");
      expect(r.stdout).toContain(`kernel.release ${release}`);
    }
    if ([...files.values()].some((p) => p.emulated)) expect(r.stdout).toContain("timings are emulated (QEMU TCG), not comparable to hardware");
  });

  it("a guest that panics: exit 1, the panic and the last console lines", async () => {
    const r = await matrix(["--kernel", "7.0", "--quiet", "--out", join(dir, "panic"), "--shell", "--", "echo c > /proc/sysrq-trigger"]);
    expect(r.status, tail(r)).toBe(1);
    expect(r.stderr).toMatch(/kernel panic: .*sysrq/i);
    // the job's own panic is the result: it is not booted again
    expect(r.stderr).not.toMatch(/booting it once more/);
    expect(r.stderr).toMatch(/last console lines:\n(  .*\n)+/);
    expect(r.stdout).toMatch(/7\.0\.\d+\+deb13-cloud-amd64 +\S+ +[\d.]+ +failed/);
  });

  it("a kernel that panics while booting is booted once more, and the second panic is the one reported", async () => {
    // an initramfs that is not one: the kernel finds no root and panics before any init runs
    const initrd = join(dir, "not-an-initramfs");
    writeFileSync(initrd, "this is not a cpio archive\n");
    const disk = join(dir, "panic-disk.img");
    writeFileSync(disk, "");
    truncateSync(disk, 16 * 2 ** 20);
    const kernel = await new KernelStore().resolve("7.0");
    let boots = 0;
    const once = () => {
      boots++;
      return boot({ qemu: findQemu(), image: kernel.image, initrd, accel: "tcg", cpus: 1, memoryMiB: 512, disk, job: "exit 0\n", timeoutMs: 120_000 });
    };
    const said: string[] = [];
    const r = await retryBootPanic(once, (x) => (!(x instanceof Error) && x.bootPanic ? x.failure : null), (l) => said.push(l));
    expect(boots).toBe(2);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^kernel panic: .* while booting, before the job started; booting it once more$/);
    expect(r.exit).toBeNull();
    expect(r.bootPanic).toBe(true);
    expect(r.failure).toMatch(/^kernel panic: /);
  });

  it("a guest that hangs is killed after --timeout: exit 1 and the last console lines", async () => {
    const r = await matrix(["--kernel", "7.0", "--quiet", "--timeout", "30", "--out", join(dir, "hang"), "--shell", "--", "echo waiting forever; sleep 100000"]);
    expect(r.status, tail(r)).toBe(1);
    expect(r.stderr).toMatch(/no result after 30 s \(guest hung\); QEMU killed; last console lines:/);
    expect(r.stderr).toContain("  waiting forever");
    expect(r.seconds).toBeLessThan(300);
  });

  it("Ctrl-C stops QEMU and removes the temporary files", async () => {
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    let sent = false;
    const r = await matrix(["--kernel", "7.0", "--out", join(dir, "sigint"), "--shell", "--", "echo guest is up; sleep 100000"], {
      env: { TMPDIR: tmp },
      started: (child) => {
        child.stderr!.on("data", (d: Buffer) => {
          if (!sent && d.toString().includes("guest is up")) {
            sent = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(sent, tail(r)).toBe(true);
    expect(r.status, tail(r)).toBe(130);
    expect(r.stderr).toContain("interrupted; stopping QEMU and removing temporary files");
    expect(readdirSync(tmp)).toEqual([]);
    // no process is left that uses the run's temporary directory (QEMU's disk and channel live there)
    const users = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(tmp);
      } catch {
        return false;
      }
    });
    expect(users).toEqual([]);
    expect(existsSync(join(dir, "sigint"))).toBe(true);
  });
});
