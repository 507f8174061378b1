// ringpoll matrix, kernel side: --kernel values, resolution against Debian's real archive index
// (skipped offline), the cached-kernel fallback when the archive cannot be reached.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrivateApt } from "../../dist/matrix/apt.js";
import {
  KernelNotFoundError,
  KernelStore,
  describeVersions,
  parseKernelSpec,
  pickVersion,
  readImageRelease,
  versionsIn,
} from "../../dist/matrix/kernels.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-matrix-kernels-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file with a bzImage setup header naming `release` (what readImageRelease reads; never booted). */
function fakeImage(path: string, release: string): string {
  const buf = Buffer.alloc(0x400);
  buf.write("HdrS", 0x202, "latin1");
  buf.writeUInt16LE(0x300 - 0x200, 0x20e);
  buf.write(`${release} (builder@host) #1 SMP\0`, 0x300, "latin1");
  writeFileSync(path, buf);
  return path;
}

describe("--kernel values", () => {
  it("accepts a series, a full version and a path", () => {
    expect(parseKernelSpec("6.19")).toEqual({ kind: "series", series: "6.19" });
    expect(parseKernelSpec("7.0.13")).toEqual({ kind: "version", version: "7.0.13" });
    expect(parseKernelSpec("./vmlinuz")).toMatchObject({ kind: "path" });
  });

  it("rejects anything else with the one message shape", () => {
    for (const bad of ["7", "seven", "7.0.13.1", "", "v7.0"]) {
      expect(() => parseKernelSpec(bad)).toThrow(/^Expected a kernel series \(7\.0\), a full version \(7\.0\.13\) or a path to a vmlinuz file for --kernel but received /);
    }
  });

  it("a series picks its newest version (numerically, 6.19.14 after 6.19.6); a full version only itself", () => {
    const names = ["linux-binary-6.19.14+deb13-cloud-amd64", "linux-binary-6.19.6+deb13-cloud-amd64", "linux-binary-6.19.14+deb13-amd64", "linux-binary-7.0.9+deb13-cloud-amd64", "linux-binary-unsigned-7.2.6+deb13-cloud-amd64"];
    const versions = versionsIn(names);
    expect(versions).toEqual(["6.19.6", "6.19.14", "7.0.9"]);
    expect(pickVersion({ kind: "series", series: "6.19" }, versions)).toBe("6.19.14");
    expect(pickVersion({ kind: "series", series: "6.1" }, versions)).toBeNull();
    expect(pickVersion({ kind: "version", version: "7.0.9" }, versions)).toBe("7.0.9");
    expect(pickVersion({ kind: "version", version: "7.0.10" }, versions)).toBeNull();
    expect(describeVersions(versions)).toBe("6.19 (6.19.6 … 6.19.14), 7.0 (7.0.9)");
  });

  it("a local path must be a bzImage; its release comes from the image header", async () => {
    const store = new KernelStore(join(dir, "local-cache"));
    const image = fakeImage(join(dir, "vmlinuz-local"), "7.0.99-custom");
    await expect(store.resolve(image)).resolves.toMatchObject({ version: "7.0.99", release: "7.0.99-custom", source: "local", image });
    const text = join(dir, "not-a-kernel");
    writeFileSync(text, "hello".repeat(200));
    expect(readImageRelease(text)).toBeNull();
    await expect(store.resolve(text)).rejects.toThrow(/for --kernel but received .*not-a-kernel" \(not a bzImage\)/);
    await expect(store.resolve(join(dir, "missing", "vmlinuz"))).rejects.toThrow(KernelNotFoundError);
  });
});

describe("without a route to the archive", () => {
  // port 9 (discard) on loopback: connection refused at once, a real failed fetch
  const deadMirror = "http://127.0.0.1:9/debian";

  it("a series falls back to the newest cached image of it, and says so", async () => {
    const root = join(dir, "offline-cached");
    mkdirSync(join(root, "kernels"), { recursive: true });
    fakeImage(join(root, "kernels", "vmlinuz-7.0.4+deb13-cloud-amd64"), "7.0.4+deb13-cloud-amd64");
    fakeImage(join(root, "kernels", "vmlinuz-7.0.12+deb13-cloud-amd64"), "7.0.12+deb13-cloud-amd64");
    const store = new KernelStore(root, new PrivateApt(join(root, "apt"), deadMirror));
    const k = await store.resolve("7.0");
    expect(k).toMatchObject({ version: "7.0.12", source: "cache", release: "7.0.12+deb13-cloud-amd64" });
    expect(k.note).toMatch(/^no route to Debian's archive http:\/\/127\.0\.0\.1:9\/debian \(.*\); using the cached 7\.0\.12$/);
    // a cached full version needs no archive at all
    await expect(store.resolve("7.0.4")).resolves.toMatchObject({ version: "7.0.4", source: "cache" });
  });

  it("with nothing cached, the error names the failure and what is cached", async () => {
    const root = join(dir, "offline-empty");
    const store = new KernelStore(root, new PrivateApt(join(root, "apt"), deadMirror));
    await expect(store.resolve("6.19")).rejects.toThrow(/^no route to Debian's archive .*; no cached kernel for 6\.19 in .*kernels \(cached: none\)$/);
  });
});

describe("Debian's archive index (trixie-backports)", () => {
  const root = join(dir, "online");
  const store = new KernelStore(root);
  let versions: string[] = [];
  let offline: string | undefined;
  beforeAll(async () => {
    ({ versions, unreachable: offline } = await store.available());
  }, 60_000);

  it("lists 6.19.x and 7.0.x cloud images, fetched under a private apt configuration", (ctx) => {
    if (offline) ctx.skip(`skipped: ${offline}`);
    expect(versions.some((v) => v.startsWith("6.19."))).toBe(true);
    expect(versions.some((v) => v.startsWith("7.0."))).toBe(true);
    expect(store.apt.indexAge()).not.toBeNull();
  });

  it("an unknown series is bad input that lists the versions that exist", async (ctx) => {
    if (offline) ctx.skip(`skipped: ${offline}`);
    const err = await store.resolve("6.2").catch((e: Error) => e);
    expect(err).toBeInstanceOf(KernelNotFoundError);
    expect((err as Error).message).toMatch(/^Debian's trixie-backports has no 6\.2\.x kernel image; available: .*6\.19 \(6\.19\.\d+ … 6\.19\.\d+\), 7\.0 \(/);
    await expect(store.resolve("7.0.999")).rejects.toThrow(/has no linux-binary-7\.0\.999\+deb13-cloud-amd64; available: /);
  });
});
