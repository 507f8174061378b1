// A ring does not outlive a privilege drop unnoticed: its kernel threads keep the ids it was made
// with (libuv's CVE-2024-22017), so new requests on it fail after process.setuid & co. changed them.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IoUring } from "ringpoll";

const fixture = new URL("./fixtures/credentials-drop.mjs", import.meta.url);
const root = process.getuid?.() === 0;

function nobody(): [number, number] | null {
  try {
    return [Number(execFileSync("id", ["-u", "nobody"]).toString()), Number(execFileSync("id", ["-g", "nobody"]).toString())];
  } catch {
    return null;
  }
}

const ids = root ? nobody() : null;
// kernel.io_uring_disabled=1 lets only root (and io_uring_group) make rings: nobody's new ring is refused.
const unprivilegedRings = (() => {
  try {
    return readFileSync("/proc/sys/kernel/io_uring_disabled", "utf8").trim() === "0";
  } catch {
    return true; // before Linux 6.6 there is no such switch
  }
})();
const skip = !root ? "not root: cannot drop privileges" : ids === null ? "no user nobody" : "";

describe.skipIf(skip !== "")(`rings and privilege drops${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("root drops to nobody: older rings refuse new requests with ERR_RINGPOLL_CREDENTIALS_CHANGED; opted-in and new rings work", () => {
    const [uid, gid] = ids!;
    const out = JSON.parse(execFileSync(process.execPath, [fixture.pathname, String(uid), String(gid)], { timeout: 20_000 }).toString());
    const refused = "ERR_RINGPOLL_CREDENTIALS_CHANGED";
    expect(out).toMatchObject({
      before: "ok",
      seteuid: refused,
      restored: "ok",
      ids: [uid, uid, gid, gid],
      nop: refused,
      sqpoll: refused,
      recvmsg: refused,
      queue: refused,
      multishot: refused,
      rearm: refused,
      allowed: "ok",
      fresh: unprivilegedRings ? "ok" : "EPERM",
      cancel: "ok",
      pending: "ECANCELED",
      worker: refused,
      close: "ok",
    });
    expect(out.armed[0]).toBe("m0"); // armed before the drop: delivers until the kernel ends it
    expect(out.message).toContain(`euid 0 → ${uid}`);
    expect(out.message).toContain("allowCredentialChange: true");
  });
});

describe("allowCredentialChange option", () => {
  it("takes a boolean", () => {
    expect(() => new IoUring({ allowCredentialChange: "yes" as unknown as boolean })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining("options.allowCredentialChange") }),
    );
  });
});
