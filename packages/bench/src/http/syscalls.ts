// Kernel entries per request: strace -c -f on the server process for one extra load window.
// ptrace slows the server many times over, so this window's rates are not figures; its counts are.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** null when strace can run, else why not. */
export function straceMissing(): string | null {
  const r = spawnSync("strace", ["-V"], { stdio: "ignore" });
  return r.error ? "strace is not installed (Debian package strace)" : null;
}

/** strace -c's table: calls per syscall name. */
export function parseStraceSummary(text: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const line of text.split("\n")) {
    // "% time     seconds  usecs/call     calls    errors syscall"; errors may be blank
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m && m[2] !== "total") calls[m[2]!] = Number(m[1]);
  }
  return calls;
}

/** Runs `load` while strace counts the syscalls of every thread of `pid`. */
export async function countSyscalls<T>(pid: number, load: () => Promise<T>): Promise<{ result: T; calls: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), "ringpoll-strace-"));
  const out = join(dir, "summary.txt");
  try {
    const strace = spawn("strace", ["-f", "-c", "-o", out, "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
    // strace says "Process <tid> attached" per thread; counting starts with the first.
    await new Promise<void>((resolve, reject) => {
      strace.stderr.on("data", (d: Buffer) => /attached/.test(d.toString()) && resolve());
      strace.on("error", reject);
      strace.on("exit", (code) => reject(new Error(`strace exited with ${code} before attaching (ptrace not permitted?)`)));
    });
    await new Promise((r) => setTimeout(r, 200));
    const result = await load();
    const exited = new Promise((r) => strace.on("exit", r));
    strace.kill("SIGTERM");
    await exited;
    return { result, calls: parseStraceSummary(readFileSync(out, "utf8")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
