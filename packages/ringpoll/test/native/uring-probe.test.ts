import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainSetupError, IORING_SETUP, probe, setupErrorCause, type IoUringProbe, type SetupContext } from "ringpoll";

const io = probe().ioUring;
const unavailable = io.available ? "" : ` (skipped: io_uring unavailable here: ${io.reason})`;

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release().split(".").map((s) => Number.parseInt(s, 10));
  return a! > major || (a === major && b! >= minor);
}

describe("probe().ioUring", () => {
  it.skipIf(!io.available)(`lists supported opcodes by uapi name, NOP, READ and RECV among them${unavailable}`, () => {
    expect(io.opcodes).toEqual(expect.arrayContaining(["NOP", "READ", "RECV"]));
    expect(new Set(io.opcodes).size).toBe(io.opcodes.length);
    for (const name of io.opcodes) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it("has an entry for every IORING_SETUP flag; each refused one carries its errno code", () => {
    expect(Object.keys(io.setupFlags).sort()).toEqual(Object.keys(IORING_SETUP).sort());
    for (const [name, accepted] of Object.entries(io.setupFlags)) {
      const refused = io.refusedSetupFlags[name as keyof IoUringProbe["setupFlags"]];
      if (accepted) expect(refused, name).toBeUndefined();
      else expect(refused, name).toMatch(/^E[A-Z0-9]+$/);
    }
  });

  it.skipIf(!io.available || !kernelAtLeast(6, 1))(
    `accepts SQPOLL, IOPOLL, SINGLE_ISSUER, DEFER_TASKRUN and COOP_TASKRUN (Linux 6.1+)${unavailable}`,
    () => {
      const { SQPOLL, IOPOLL, SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN } = io.setupFlags;
      expect({ SQPOLL, IOPOLL, SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN }).toEqual({
        SQPOLL: true,
        IOPOLL: true,
        SINGLE_ISSUER: true,
        DEFER_TASKRUN: true,
        COOP_TASKRUN: true,
      });
    },
  );

  it.skipIf(!io.available || !kernelAtLeast(5, 11))(`reports the default ring's IORING_FEAT_* names (Linux 5.11+)${unavailable}`, () => {
    expect(io.features).toEqual(expect.arrayContaining(["SINGLE_MMAP", "NODROP", "FAST_POLL", "EXT_ARG"]));
  });

  it("reports kernel.io_uring_disabled / io_uring_group and this process's seccomp state", () => {
    const sysctl = (name: string): number | null =>
      existsSync(`/proc/sys/kernel/${name}`) ? Number(readFileSync(`/proc/sys/kernel/${name}`, "utf8")) : null;
    expect(io.sysctl).toEqual({ io_uring_disabled: sysctl("io_uring_disabled"), io_uring_group: sysctl("io_uring_group") });
    const seccomp = /^Seccomp:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"));
    expect(io.seccomp.mode).toBe(seccomp ? Number(seccomp[1]) : null);
  });

  it.skipIf(!io.available)(`has no reason or setup error when io_uring works${unavailable}`, () => {
    expect(io.reason).toBeNull();
    expect(io.setupError).toBeNull();
  });
});

function hasCompiler(): boolean {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const noCompiler = hasCompiler() ? null : "no C compiler (cc) to build the seccomp helper";

describe.skipIf(noCompiler !== null)(`a child process whose seccomp filter refuses io_uring_setup${noCompiler ? ` (skipped: ${noCompiler})` : ""}`, () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  let dir = "";
  let helper = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ringpoll-seccomp-"));
    helper = join(dir, "seccomp-deny-uring");
    execFileSync("cc", ["-Wall", "-Wextra", "-Werror", "-o", helper, join(root, "test/native/fixtures/seccomp-deny-uring.c")]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function probeUnderFilter(errno: number): { ioUring: IoUringProbe; explain: string } {
    const script =
      'import { probe, explainSetupError } from "ringpoll";' +
      `const ioUring = probe().ioUring; console.log(JSON.stringify({ ioUring, explain: explainSetupError(${errno}) }));`;
    const out = execFileSync(helper, [String(errno), process.execPath, "--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
    });
    return JSON.parse(out) as { ioUring: IoUringProbe; explain: string };
  }

  it("gets available: false and a reason naming seccomp when the filter answers EPERM (as Docker's does)", () => {
    const { ioUring, explain } = probeUnderFilter(1);
    expect(ioUring.available).toBe(false);
    expect(ioUring.setupError).toBe("EPERM");
    expect(ioUring.seccomp.mode).toBe(2);
    // Not anchored after the errno: a host with kernel.io_uring_disabled set gets both causes named.
    expect(ioUring.reason).toMatch(/^io_uring_setup EPERM: operation not permitted \(.*a seccomp filter refuses io_uring_setup: Seccomp: 2/);
    expect(ioUring.reason).toContain(`kernel ${release()}`);
    expect(explain).toBe(ioUring.reason);
    expect(ioUring.opcodes).toEqual([]);
    expect(Object.values(ioUring.setupFlags).every((accepted) => !accepted)).toBe(true);
  });

  it("new IoUring() throws a SystemError whose message names the seccomp filter", () => {
    const script =
      'import { IoUring } from "ringpoll";' +
      "try { new IoUring(); console.log('{}'); } catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })); }";
    const out = execFileSync(helper, ["1", process.execPath, "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    const err = JSON.parse(out) as { code?: string; errno?: number; syscall?: string; message?: string };
    expect(err).toMatchObject({ code: "EPERM", errno: -1, syscall: "io_uring_setup" });
    expect(err.message).toMatch(/seccomp filter refuses io_uring_setup/);
  });

  it("names seccomp for ENOSYS too on a kernel that has io_uring", () => {
    const { ioUring } = probeUnderFilter(38);
    expect(ioUring.available).toBe(false);
    expect(ioUring.setupError).toBe("ENOSYS");
    expect(ioUring.reason).toMatch(/^io_uring_setup ENOSYS: function not implemented \(a seccomp filter refuses io_uring_setup: Seccomp: 2/);
  });
});

describe("explainSetupError() / setupErrorCause()", () => {
  const EPERM = 1;
  const ENOSYS = 38;
  const host: SetupContext = {
    kernelRelease: "6.18.0-test",
    ioUringDisabled: 0,
    ioUringGroup: -1,
    seccompMode: 0,
    seccompFilters: 0,
    capSysAdmin: false,
    groups: [1000],
  };
  const ctx = (over: Partial<SetupContext>): SetupContext => ({ ...host, ...over });

  it("EPERM with kernel.io_uring_disabled=2 names the sysctl, even for CAP_SYS_ADMIN", () => {
    const text = "io_uring_setup EPERM: operation not permitted (kernel.io_uring_disabled=2: io_uring is disabled for all processes; kernel 6.18.0-test)";
    expect(explainSetupError(EPERM, ctx({ ioUringDisabled: 2 }))).toBe(text);
    expect(explainSetupError(EPERM, ctx({ ioUringDisabled: 2, capSysAdmin: true }))).toBe(text);
  });

  it("EPERM with kernel.io_uring_disabled=1 names the sysctl and who may still create rings", () => {
    expect(setupErrorCause(EPERM, ctx({ ioUringDisabled: 1 }))).toBe(
      "kernel.io_uring_disabled=1, kernel.io_uring_group=-1: only processes with CAP_SYS_ADMIN (no group is set) may create rings; kernel 6.18.0-test",
    );
    expect(setupErrorCause(EPERM, ctx({ ioUringDisabled: 1, ioUringGroup: 5000 }))).toBe(
      "kernel.io_uring_disabled=1, kernel.io_uring_group=5000: only processes with CAP_SYS_ADMIN or members of group 5000 may create rings; kernel 6.18.0-test",
    );
  });

  it("EPERM with kernel.io_uring_disabled=1 does not blame the sysctl for a member of io_uring_group or CAP_SYS_ADMIN", () => {
    const filtered = { seccompMode: 2, seccompFilters: 3 };
    for (const allowed of [ctx({ ioUringDisabled: 1, ioUringGroup: 1000, ...filtered }), ctx({ ioUringDisabled: 1, capSysAdmin: true, ...filtered })]) {
      const cause = setupErrorCause(EPERM, allowed);
      expect(cause).not.toContain("io_uring_disabled");
      expect(cause).toMatch(/^a seccomp filter refuses io_uring_setup: Seccomp: 2, Seccomp_filters: 3 in \/proc\/self\/status, and Docker's default profile/);
    }
  });

  it("EPERM with kernel.io_uring_disabled=0 names a seccomp filter, or says neither explains it", () => {
    expect(setupErrorCause(EPERM, ctx({ seccompMode: 2, seccompFilters: 1 }))).toMatch(/^a seccomp filter refuses io_uring_setup/);
    expect(setupErrorCause(EPERM, host)).toBe(
      "neither kernel.io_uring_disabled (=0) nor a seccomp filter (Seccomp: 0) explains it; a Linux security module may refuse io_uring; kernel 6.18.0-test",
    );
  });

  it("EPERM with both the sysctl and a seccomp filter names both", () => {
    expect(setupErrorCause(EPERM, ctx({ ioUringDisabled: 2, seccompMode: 2, seccompFilters: 1 }))).toMatch(
      /^kernel\.io_uring_disabled=2: .*; also a seccomp filter refuses io_uring_setup/,
    );
  });

  it("ENOSYS names an old kernel, a kernel without io_uring, or a seccomp filter", () => {
    expect(explainSetupError(ENOSYS, ctx({ kernelRelease: "4.19.0-27-amd64", ioUringDisabled: null, ioUringGroup: null }))).toBe(
      "io_uring_setup ENOSYS: function not implemented (the kernel is older than 5.1, which introduced io_uring; kernel 4.19.0-27-amd64)",
    );
    expect(setupErrorCause(ENOSYS, ctx({ kernelRelease: "5.15.0", ioUringDisabled: null, ioUringGroup: null }))).toBe(
      "the kernel was built without io_uring (CONFIG_IO_URING=n); kernel 5.15.0",
    );
    expect(setupErrorCause(ENOSYS, ctx({ kernelRelease: "5.15.0", ioUringDisabled: null, seccompMode: 2 }))).toMatch(
      /^either the kernel was built without io_uring \(CONFIG_IO_URING=n\) or a seccomp filter refuses io_uring_setup: /,
    );
    // kernel.io_uring_disabled exists only where io_uring is built in: then it must be the filter.
    expect(setupErrorCause(ENOSYS, ctx({ seccompMode: 2, seccompFilters: 1 }))).toMatch(/^a seccomp filter refuses io_uring_setup/);
  });

  it("reads the running kernel and /proc when no context is given", () => {
    expect(explainSetupError(EPERM)).toMatch(new RegExp(`^io_uring_setup EPERM: operation not permitted \\(.*; kernel ${release().replace(/[.+]/g, "\\$&")}\\)$`));
  });

  it("rejects an errno that is not a positive integer", () => {
    expect(() => explainSetupError(0)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => explainSetupError(-1)).toThrow(/Expected integer between 1 and 4095 for errno but received -1/);
  });
});
