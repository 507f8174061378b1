// The install script: without liburing's headers it stops with one line naming the package.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ringpoll-install-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("scripts/install.mjs", () => {
  it("stops with one line naming liburing-dev / liburing-devel when the headers are missing", () => {
    // A compiler that sees no system headers, as on a machine without liburing-dev.
    const cxx = join(dir, "cxx-without-headers");
    writeFileSync(cxx, '#!/bin/sh\nexec c++ -nostdinc "$@"\n');
    chmodSync(cxx, 0o755);
    const r = spawnSync(process.execPath, [join(root, "scripts/install.mjs")], {
      cwd: root,
      env: { ...process.env, CXX: cxx },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/liburing headers not found; install liburing-dev \(Debian\/Ubuntu\) or liburing-devel \(Fedora\/RHEL\)/);
  });
});

describe("platform", () => {
  it("importing ringpoll on another platform throws one clear error", () => {
    const script =
      "Object.defineProperty(process, 'platform', { value: 'darwin' });" +
      "import('ringpoll').then(() => console.log('imported'), (e) => console.log(e.message));";
    const r = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8" });
    expect(r.stdout.trim()).toBe("ringpoll supports Linux only (epoll and io_uring are Linux interfaces); this is darwin");
  });
});
