// The guest's root filesystem: busybox as the shell of /init, node, the built project (dist and the
// addon), the node_modules the guest command loads, and every shared library those binaries need
// (resolved with ldd). Built with cpio from a staging tree of symlinks (cpio -L stores the targets),
// cached by content under ~/.cache/ringpoll/initramfs.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "./kernels.js";

const run = promisify(execFile);

/** "run": a ringpoll subcommand or a shell command; "vitest": the native test files under vitest. */
export type GuestMode = "run" | "vitest";

export const GUEST_ROOT = "/ringpoll";
export const GUEST_NODE = "/usr/bin/node";
/** Packages the vitest guest needs beyond the runtime dependencies. */
const VITEST_PACKAGES = ["vitest"];
const KEEP_PER_MODE = 3;

/** The workspace root: packages/bench/dist/matrix/*.js sits four levels below it. */
export function projectRoot(): string {
  return realpathSync(new URL("../../../..", import.meta.url).pathname);
}

export function guestInitPath(root = projectRoot()): string {
  return join(root, "packages", "bench", "src", "matrix", "guest-init.sh");
}

/** The workspace's own packages: in the guest, the library is installed under node_modules. */
const LIBRARY = "ringpoll";
const BENCH_DIR = join("packages", "bench");
const LIBRARY_DIR = join("packages", "ringpoll");

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

/** Node's lookup: dir/node_modules/name, then each parent's. */
function resolvePackage(from: string, name: string, root: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === dirname(dir)) return null;
  }
}

/**
 * Directories of the packages `names` need at run time, themselves included: dependencies and
 * optional dependencies that are installed, and installed peers (vitest runs with the vite it finds).
 */
export function packageClosure(root: string, names: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue: Array<[string, string]> = names.map((n) => [root, n]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    const dir = resolvePackage(from, name, root);
    if (dir === null) {
      if (from === root) throw new Error(`package ${name} is not installed in ${root}/node_modules (run npm ci)`);
      continue; // an optional or peer dependency that is not installed
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = readPackage(dir);
    for (const field of [pkg.dependencies, pkg.optionalDependencies, pkg.peerDependencies]) {
      for (const dep of Object.keys(field ?? {})) queue.push([dir, dep]);
    }
  }
  return [...seen].sort();
}

/** Regular files under dir (following symlinks, skipping dangling ones), as absolute paths. */
function filesUnder(dir: string, skip: (path: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (skip(p)) continue;
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Shared libraries (and the dynamic loader) that ldd finds for these ELF files; static ones add none. */
export async function sharedLibraries(binaries: readonly string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const bin of binaries) {
    let stdout = "";
    try {
      ({ stdout } = await run("ldd", [bin], { encoding: "utf8" }));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      if (e.code === "ENOENT") throw new Error("ldd not found: install libc-bin (it resolves the shared libraries the guest needs)");
      // "not a dynamic executable" exits 1: nothing to add
      if (/not a dynamic executable|statically linked/.test(`${e.stdout ?? ""}${e.stderr ?? ""}`)) continue;
      throw new Error(`ldd ${bin} failed: ${(e.stderr ?? String(err)).trim()}`);
    }
    for (const line of stdout.split("\n")) {
      if (line.includes("not found")) throw new Error(`${bin} needs a library the host does not have: ${line.trim()}`);
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (m) libs.add(m[1]!);
    }
  }
  return [...libs].sort();
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function findBusybox(): string {
  const bb = which("busybox") ?? (existsSync("/bin/busybox") ? "/bin/busybox" : null);
  if (bb === null) throw new Error("busybox not found: install busybox-static (apt-get install busybox-static); the guest's /init runs in its shell");
  return realpathSync(bb);
}

export interface Layout {
  /** guest path → host file, guest paths without the leading slash */
  files: Map<string, string>;
  /** guest paths whose host files belong to the project (hashed by content for the cache key) */
  project: Set<string>;
}

/**
 * Everything the guest of this mode gets, before ldd. The guest's /ringpoll mirrors the workspace,
 * except that the library is a plain installed package (node_modules/ringpoll: package.json, dist,
 * addon) instead of a workspace link, since the image holds files, not links.
 */
export function planLayout(root: string, mode: GuestMode): Layout {
  const files = new Map<string, string>();
  const project = new Set<string>();
  const g = GUEST_ROOT.slice(1);
  const addProject = (hostPath: string, guestPath = relative(root, hostPath)): void => {
    const dest = join(g, guestPath);
    files.set(dest, hostPath);
    project.add(dest);
  };
  const bench = join(root, BENCH_DIR);
  const lib = join(root, LIBRARY_DIR);
  const addons = [join(lib, "build", "Release", "ringpoll.node"), join(bench, "build", "Release", "ringpoll_bench.node")];
  const dist = join(bench, "dist");
  if (!existsSync(join(dist, "cli.js"))) throw new Error(`${dist}/cli.js is missing: run npm run build first`);
  for (const addon of addons) if (!existsSync(addon)) throw new Error(`${addon} is missing: run npm run build:native first`);
  files.set("init", guestInitPath(root));
  project.add("init");
  files.set("bin/busybox", findBusybox());
  files.set(GUEST_NODE.slice(1), realpathSync(process.execPath));
  addProject(join(root, "package.json"));
  const asLibrary = (f: string): void => addProject(f, join("node_modules", LIBRARY, relative(lib, f)));
  asLibrary(join(lib, "package.json"));
  asLibrary(addons[0]!);
  for (const f of filesUnder(join(lib, "dist"))) asLibrary(f);
  for (const f of filesUnder(join(lib, "lib"))) if (f.endsWith(".ts")) asLibrary(f);
  addProject(join(bench, "package.json"));
  addProject(addons[1]!);
  for (const f of filesUnder(dist)) addProject(f);
  // the sources dist's source maps point to, for readable stack traces
  for (const f of filesUnder(join(bench, "src"))) if (f.endsWith(".ts")) addProject(f);
  const names = [bench, lib].flatMap((dir) => Object.keys(readPackage(dir).dependencies ?? {})).filter((n) => n !== LIBRARY);
  if (mode === "vitest") {
    names.push(...VITEST_PACKAGES);
    // vite reads the test files' tsconfig, following the root's references into both packages
    const configs = ["vitest.config.ts", "tsconfig.json", "tsconfig.base.json", join(LIBRARY_DIR, "tsconfig.json"), join(BENCH_DIR, "tsconfig.json")];
    for (const f of configs) if (existsSync(join(root, f))) addProject(join(root, f));
    for (const dir of [lib, bench]) {
      const tests = join(dir, "test", "native");
      if (existsSync(tests)) for (const f of filesUnder(tests)) addProject(f);
    }
    // examples.test.ts runs them; in the guest the polled one reads the NVMe disk for real
    const examples = join(root, "examples");
    if (existsSync(examples)) for (const f of filesUnder(examples)) addProject(f);
  }
  for (const dir of packageClosure(root, [...new Set(names)])) {
    for (const f of filesUnder(dir, (p) => p === join(dir, "node_modules"))) addProject(f);
  }
  return { files, project };
}

function hashFile(h: ReturnType<typeof createHash>, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    createReadStream(path)
      .on("data", (chunk) => h.update(chunk))
      .on("end", resolve)
      .on("error", reject);
  });
}

/** Content of project files, identity (path, size, mtime) of system files. */
export async function layoutKey(layout: Layout, mode: GuestMode): Promise<string> {
  const h = createHash("sha256");
  h.update(`ringpoll-initramfs-v1 ${mode}\n`);
  for (const dest of [...layout.files.keys()].sort()) {
    const src = layout.files.get(dest)!;
    h.update(`${dest}\0`);
    if (layout.project.has(dest)) await hashFile(h, src);
    else {
      const st = statSync(src);
      h.update(`${src}\0${st.size}\0${st.mtimeMs}`);
    }
    h.update("\n");
  }
  return h.digest("hex").slice(0, 20);
}

export interface Initramfs {
  path: string;
  key: string;
  reused: boolean;
  bytes: number;
  files: number;
}

export async function buildInitramfs(opts: { mode: GuestMode; root?: string; cacheDir?: string; log?: (line: string) => void }): Promise<Initramfs> {
  const root = opts.root ?? projectRoot();
  const dir = opts.cacheDir ?? join(cacheRoot(), "initramfs");
  const layout = planLayout(root, opts.mode);
  const binaries = [...layout.files.entries()]
    .filter(([dest, src]) => dest === "bin/busybox" || dest === GUEST_NODE.slice(1) || src.endsWith(".node"))
    .map(([, src]) => src);
  for (const lib of await sharedLibraries(binaries)) layout.files.set(lib.slice(1), realpathSync(lib));
  const key = await layoutKey(layout, opts.mode);
  const path = join(dir, `${opts.mode}-${key}.cpio`);
  if (existsSync(path)) return { path, key, reused: true, bytes: statSync(path).size, files: layout.files.size };

  opts.log?.(`building the ${opts.mode} initramfs (${layout.files.size} files)`);
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(join(dir, ".stage-"));
  try {
    const names: string[] = [];
    const dirs = new Set<string>();
    for (const [dest, src] of layout.files) {
      for (let d = dirname(dest); d !== "." && !dirs.has(d); d = dirname(d)) dirs.add(d);
      mkdirSync(join(stage, dirname(dest)), { recursive: true });
      symlinkSync(src, join(stage, dest));
      names.push(dest);
    }
    // the shell's applet links and the mount points are made by /init; only these must exist
    for (const d of ["dev", "proc", "sys", "tmp", "root"]) {
      mkdirSync(join(stage, d), { recursive: true });
      dirs.add(d);
    }
    const list = [...[...dirs].sort(), ...names].join("\n") + "\n";
    const tmp = `${path}.${process.pid}.tmp`;
    await cpio(stage, list, tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  prune(dir, opts.mode, path);
  return { path, key, reused: false, bytes: statSync(path).size, files: layout.files.size };
}

function cpio(cwd: string, list: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // newc is the format the kernel unpacks; -R 0:0 makes every file root's; -L stores link targets
    const child = execFile(
      "sh",
      ["-c", 'exec cpio -o -H newc -R 0:0 -L --quiet > "$0"', out],
      { cwd, maxBuffer: 16 << 20 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        rmSync(out, { force: true });
        const missing = /cpio: (not found|command not found)/.test(String(stderr)) || (err as { code?: unknown }).code === 127;
        reject(new Error(missing ? "cpio not found: install cpio (apt-get install cpio)" : `cpio failed: ${String(stderr).trim()}`));
      },
    );
    child.stdin!.end(list);
  });
}

/** Keeps the newest few images of a mode. */
function prune(dir: string, mode: GuestMode, keep: string): void {
  const images = readdirSync(dir)
    .filter((n) => n.startsWith(`${mode}-`) && n.endsWith(".cpio"))
    .map((n) => join(dir, n))
    .filter((p) => p !== keep)
    .map((p) => ({ p, t: lstatSync(p).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { p } of images.slice(KEEP_PER_MODE - 1)) rmSync(p, { force: true });
}
