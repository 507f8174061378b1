// Leak check of the addon's own allocations: test/lsan/exercise.mjs drives every native object
// (rings with requests in flight at close, buffer rings, registered buffers, Epoll, sys, both
// ringpoll/net backends, dropped objects, terminated workers, objects still open at exit) in a child
// process that exits normally, with LeakSanitizer on. Runs in the ASan build only (RINGPOLL_SANITIZED=1,
// libasan preloaded); test/lsan.supp lists what Node itself keeps (nothing, today).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const sanitized = process.env.RINGPOLL_SANITIZED === "1" && (process.env.LD_PRELOAD ?? "").includes("libasan");
const runner = fileURLToPath(new URL("../lsan/exercise.mjs", import.meta.url));
const suppressions = fileURLToPath(new URL("../lsan.supp", import.meta.url));

describe.skipIf(!sanitized)(`LeakSanitizer${sanitized ? "" : " (skipped: needs the ASan build, RINGPOLL_SANITIZED=1 and libasan in LD_PRELOAD, as .ci/run's ASan step)"}`, () => {
  it("the addon leaks nothing: every native allocation is freed by close, GC, worker teardown or exit", { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, ["--expose-gc", runner], {
      encoding: "utf8",
      timeout: 150_000,
      env: { ...process.env, ASAN_OPTIONS: `detect_leaks=1:suppressions=${suppressions}:print_suppressions=0:exitcode=23:halt_on_error=1` },
    });
    const report = r.stderr.slice(r.stderr.indexOf("==ERROR"), r.stderr.indexOf("==ERROR") + 6000);
    expect(r.stderr, report).not.toContain("LeakSanitizer");
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toContain("exercised");
  });
});
