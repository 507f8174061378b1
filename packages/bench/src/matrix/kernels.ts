// Which kernel to boot: a series ("7.0", newest of it), a full version ("7.0.13") or a local vmlinuz.
// Debian's trixie-backports carries the images as linux-binary-<version>+deb13-cloud-amd64 (vmlinuz
// only, NVMe/virtio/loopback built in); they are fetched once into ~/.cache/ringpoll/kernels.
import { execFile } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ArchiveUnreachableError, PrivateApt, SUITE } from "./apt.js";

const run = promisify(execFile);

export const FLAVOUR = "+deb13-cloud-amd64";
const PREFIX = "linux-binary-";

/** The user asked for a kernel that does not exist (bad input, exit 2), as opposed to a fault. */
export class KernelNotFoundError extends Error {
  override name = "KernelNotFoundError";
}

export type KernelSpec =
  | { kind: "series"; series: string }
  | { kind: "version"; version: string }
  | { kind: "path"; path: string };

export interface Kernel {
  /** what the user asked for */
  spec: string;
  /** e.g. 7.0.13 */
  version: string;
  /** uname -r inside the guest, read from the image header */
  release: string;
  image: string;
  source: "cache" | "archive" | "local";
  /** set when the archive could not be asked and a cached image stood in */
  note?: string;
}

export function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ringpoll");
}

/** Parses a --kernel value; throws a one-line message for anything else. */
export function parseKernelSpec(value: string): KernelSpec {
  if (/^\d+\.\d+$/.test(value)) return { kind: "series", series: value };
  if (/^\d+\.\d+\.\d+$/.test(value)) return { kind: "version", version: value };
  if (value.includes("/") || existsSync(value)) return { kind: "path", path: resolve(value) };
  throw new Error(
    `Expected a kernel series (7.0), a full version (7.0.13) or a path to a vmlinuz file for --kernel but received ${JSON.stringify(value)}`,
  );
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function seriesOf(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

/** Versions of the cloud-amd64 images among package names, oldest first. */
export function versionsIn(packageNames: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of packageNames) {
    const m = /^linux-binary-(\d+\.\d+\.\d+)\+deb13-cloud-amd64$/.exec(name);
    if (m) out.add(m[1]!);
  }
  return [...out].sort(compareVersions);
}

/** The version a spec picks among those available, or null. */
export function pickVersion(spec: KernelSpec, versions: readonly string[]): string | null {
  if (spec.kind === "version") return versions.includes(spec.version) ? spec.version : null;
  if (spec.kind === "series") return versions.filter((v) => seriesOf(v) === spec.series).at(-1) ?? null;
  return null;
}

/** "6.19 (6.19.6 … 6.19.14), 7.0 (7.0.4 … 7.0.13)" */
export function describeVersions(versions: readonly string[]): string {
  const bySeries = new Map<string, string[]>();
  for (const v of versions) bySeries.set(seriesOf(v), [...(bySeries.get(seriesOf(v)) ?? []), v]);
  return [...bySeries]
    .map(([s, vs]) => (vs.length === 1 ? `${s} (${vs[0]})` : `${s} (${vs[0]} … ${vs.at(-1)})`))
    .join(", ");
}

/** The kernel release string in a bzImage's setup header, or null when the file is not a bzImage. */
export function readImageRelease(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(0x210);
    if (readSync(fd, head, 0, head.length, 0) < head.length || head.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
    // kernel_version: offset of a NUL-terminated string, relative to the end of the boot sector
    const at = head.readUInt16LE(0x20e) + 0x200;
    const text = Buffer.alloc(256);
    const n = readSync(fd, text, 0, text.length, at);
    const s = text.toString("latin1", 0, n);
    return s.slice(0, s.indexOf("\0") >>> 0).split(" ")[0] || null;
  } finally {
    closeSync(fd);
  }
}

export class KernelStore {
  readonly dir: string;
  readonly apt: PrivateApt;

  constructor(root = cacheRoot(), apt?: PrivateApt) {
    this.dir = join(root, "kernels");
    this.apt = apt ?? new PrivateApt(join(root, "apt"));
  }

  /** Cached Debian images, oldest version first. */
  cached(): Array<{ version: string; image: string }> {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .map((n) => /^vmlinuz-(\d+\.\d+\.\d+)\+deb13-cloud-amd64$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ version: m[1]!, image: join(this.dir, m[0]) }))
      .sort((a, b) => compareVersions(a.version, b.version));
  }

  imagePath(version: string): string {
    return join(this.dir, `vmlinuz-${version}${FLAVOUR}`);
  }

  /** Versions Debian's archive offers (refreshing the private index when stale). */
  async available(): Promise<{ versions: string[]; unreachable?: string }> {
    let unreachable: string | undefined;
    try {
      await this.apt.update();
    } catch (err) {
      if (!(err instanceof ArchiveUnreachableError)) throw err;
      unreachable = err.message;
    }
    const versions = versionsIn(await this.apt.packageNames(PREFIX));
    return unreachable === undefined ? { versions } : { versions, unreachable };
  }

  async resolve(value: string, log: (line: string) => void = () => {}): Promise<Kernel> {
    const spec = parseKernelSpec(value);
    if (spec.kind === "path") return local(value, spec.path);
    const cached = this.cached();
    if (spec.kind === "version") {
      const hit = cached.find((c) => c.version === spec.version);
      if (hit) return this.#kernel(value, spec.version, "cache");
    }
    const { versions, unreachable } = await this.available();
    if (versions.length === 0 && unreachable !== undefined) {
      const stand = pickVersion(spec, cached.map((c) => c.version));
      const list = cached.length ? cached.map((c) => c.version).join(", ") : "none";
      if (stand === null) throw new Error(`${unreachable}; no cached kernel for ${value} in ${this.dir} (cached: ${list})`);
      const k = this.#kernel(value, stand, "cache");
      k.note = `${unreachable}; using the cached ${stand}`;
      return k;
    }
    const version = pickVersion(spec, versions);
    if (version === null) {
      const what = spec.kind === "series" ? `${spec.series}.x kernel image` : `linux-binary-${spec.version}${FLAVOUR}`;
      throw new KernelNotFoundError(`Debian's ${SUITE} has no ${what}; available: ${describeVersions(versions) || "nothing (empty index)"}`);
    }
    if (cached.some((c) => c.version === version)) {
      const k = this.#kernel(value, version, "cache");
      if (unreachable !== undefined) k.note = `${unreachable}; the index from ${ageText(this.apt.indexAge())} ago picked ${version}`;
      return k;
    }
    if (unreachable !== undefined) throw new Error(`${unreachable}; ${version} is not cached in ${this.dir}`);
    log(`fetching linux-binary-${version}${FLAVOUR} from ${this.apt.mirror} (${SUITE})`);
    await this.#fetch(version);
    return this.#kernel(value, version, "archive");
  }

  #kernel(spec: string, version: string, source: Kernel["source"]): Kernel {
    const image = this.imagePath(version);
    return { spec, version, release: readImageRelease(image) ?? `${version}${FLAVOUR}`, image, source };
  }

  async #fetch(version: string): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const tmp = mkdtempSync(join(this.dir, ".fetch-"));
    try {
      const deb = await this.apt.download(`${PREFIX}${version}${FLAVOUR}`, tmp);
      await run("dpkg-deb", ["-x", deb, join(tmp, "x")]);
      const image = join(tmp, "x", "boot", `vmlinuz-${version}${FLAVOUR}`);
      if (!existsSync(image) || readImageRelease(image) === null) throw new Error(`${deb} holds no bzImage at /boot/vmlinuz-${version}${FLAVOUR}`);
      renameSync(image, this.imagePath(version));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

/** A local vmlinuz as a Kernel; throws KernelNotFoundError when it is missing or not a bzImage. */
export function local(spec: string, path: string): Kernel {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new KernelNotFoundError(`Expected a path to a vmlinuz file for --kernel but received ${JSON.stringify(spec)} (no such file)`);
  }
  const release = isFile ? readImageRelease(path) : null;
  if (release === null) throw new KernelNotFoundError(`Expected a path to a vmlinuz file for --kernel but received ${JSON.stringify(spec)} (not a bzImage)`);
  return { spec, version: /^\d+\.\d+(\.\d+)?/.exec(release)?.[0] ?? release, release, image: path, source: "local" };
}

function ageText(ms: number | null): string {
  if (ms === null) return "an unknown time";
  const h = ms / 3_600_000;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(0)} days`;
}
