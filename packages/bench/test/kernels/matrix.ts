// Runs `ringpoll matrix` (dist/, built first) the way a user does, keeping its output for messages.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface MatrixRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export function matrix(args: string[], opts: { env?: Record<string, string>; started?: (child: ChildProcess) => void } = {}): Promise<MatrixRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "matrix", ...args], { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
    opts.started?.(child);
  });
}

/** The end of a run's output, to explain a failed assertion. */
export function tail(r: MatrixRun, lines = 40): string {
  return `\n--- stdout\n${r.stdout}\n--- stderr (last ${lines} lines)\n${r.stderr.split("\n").slice(-lines).join("\n")}`;
}

/** The result files one run wrote into its --out directory, by kernel release. */
export function results(out: string): Map<string, any> {
  const m = new Map<string, any>();
  for (const name of readdirSync(out)) {
    if (name.endsWith(".json")) m.set(name.slice(0, -5), JSON.parse(readFileSync(join(out, name), "utf8")));
  }
  return m;
}
