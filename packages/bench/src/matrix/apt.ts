// apt-get with a private configuration: sources, lists and package caches live under our own cache
// directory, so the host's apt setup is neither read for sources nor written (only apt.conf.d, e.g. a
// proxy, still applies).
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const DEFAULT_MIRROR = "http://deb.debian.org/debian";
export const SUITE = "trixie-backports";
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
/** Re-read the archive index when it is older than this. */
const INDEX_MAX_AGE_MS = 60 * 60 * 1000;

export class ArchiveUnreachableError extends Error {
  override name = "ArchiveUnreachableError";
}

export class PrivateApt {
  readonly dir: string;
  readonly mirror: string;

  constructor(dir: string, mirror = process.env.RINGPOLL_DEBIAN_MIRROR || DEFAULT_MIRROR) {
    this.dir = dir;
    this.mirror = mirror.replace(/\/+$/, "");
  }

  get sourcesLine(): string {
    return `deb [signed-by=${KEYRING}] ${this.mirror} ${SUITE} main`;
  }

  /** -o options that point every piece of apt state at this.dir. */
  options(): string[] {
    const d = this.dir;
    const o = {
      "Dir::Etc::sourcelist": join(d, "sources.list"),
      "Dir::Etc::sourceparts": join(d, "empty"),
      "Dir::Etc::preferences": join(d, "empty", "preferences"),
      "Dir::Etc::preferencesparts": join(d, "empty"),
      "Dir::State::lists": join(d, "lists"),
      "Dir::State::status": join(d, "status"),
      "Dir::Cache": join(d, "cache"),
      "APT::Architecture": "amd64",
      "APT::Architectures": "amd64",
      "Acquire::Retries": "0",
      "Acquire::http::Timeout": "20",
      // root's downloads into a directory _apt cannot enter would warn; nothing here needs the sandbox
      "APT::Sandbox::User": process.getuid?.() === 0 ? "root" : "",
    };
    return Object.entries(o)
      .filter(([, v]) => v !== "")
      .flatMap(([k, v]) => ["-o", `${k}=${v}`]);
  }

  #prepare(): boolean {
    for (const sub of ["empty", "lists/partial", "cache/archives/partial"]) mkdirSync(join(this.dir, sub), { recursive: true });
    const status = join(this.dir, "status");
    try {
      statSync(status);
    } catch {
      writeFileSync(status, "");
    }
    const sources = join(this.dir, "sources.list");
    let old = "";
    try {
      old = readFileSync(sources, "utf8");
    } catch {
      // first use
    }
    if (old === this.sourcesLine + "\n") return false;
    writeFileSync(sources, this.sourcesLine + "\n");
    return true;
  }

  /** Age of the downloaded index in ms, or null when there is none for the current mirror. */
  indexAge(): number | null {
    const lists = join(this.dir, "lists");
    let newest = 0;
    try {
      for (const name of readdirSync(lists)) {
        if (name.endsWith("_InRelease") || name.includes("_Packages")) newest = Math.max(newest, statSync(join(lists, name)).mtimeMs);
      }
    } catch {
      return null;
    }
    return newest === 0 ? null : Date.now() - newest;
  }

  /**
   * Refreshes the index when it is missing or stale. Throws ArchiveUnreachableError when the archive
   * cannot be reached (apt keeps the previous index, which stays usable).
   */
  async update(force = false): Promise<void> {
    const changed = this.#prepare();
    const age = changed ? null : this.indexAge();
    if (!force && age !== null && age < INDEX_MAX_AGE_MS) return;
    let stderr = "";
    let failed = false;
    try {
      ({ stderr } = await run("apt-get", [...this.options(), "-q", "update"], { encoding: "utf8" }));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") throw new Error("apt-get not found: fetching Debian kernels needs apt (Debian/Ubuntu); pass a local vmlinuz path instead");
      stderr = e.stderr ?? String(err);
      failed = true;
    }
    // apt-get update exits 0 when an index could not be fetched; the "Failed to fetch" lines tell.
    const fetchError = stderr.split("\n").find((l) => /Failed to fetch|Could not resolve|Could not connect|Temporary failure/.test(l));
    if (fetchError || failed) {
      const why = (fetchError ?? stderr.trim().split("\n").pop() ?? "apt-get update failed").replace(/^[EW]: /, "");
      throw new ArchiveUnreachableError(`no route to Debian's archive ${this.mirror} (${why.trim()})`);
    }
  }

  /** Package names in the downloaded index that start with prefix (empty when there is no index). */
  async packageNames(prefix: string): Promise<string[]> {
    this.#prepare();
    const { stdout } = await run("apt-cache", [...this.options(), "pkgnames", prefix], { encoding: "utf8", maxBuffer: 64 << 20 });
    return stdout.split("\n").filter((l) => l !== "");
  }

  /** Downloads a package's .deb into dir; returns its path. */
  async download(pkg: string, dir: string): Promise<string> {
    this.#prepare();
    try {
      await run("apt-get", [...this.options(), "-q", "download", pkg], { cwd: dir, encoding: "utf8" });
    } catch (err) {
      const e = err as { stderr?: string };
      const msg = (e.stderr ?? String(err)).trim().split("\n").filter((l) => l.startsWith("E:") || l.includes("Err")).join("; ");
      if (/Could not resolve|Could not connect|Failed to fetch|Temporary failure/.test(msg)) {
        throw new ArchiveUnreachableError(`no route to Debian's archive ${this.mirror} (${msg})`);
      }
      throw new Error(`apt-get download ${pkg} failed: ${msg || String(err)}`);
    }
    const deb = readdirSync(dir).find((n) => n.startsWith(`${pkg}_`) && n.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
    return join(dir, deb);
  }
}
