// Load from wrk (https://github.com/wg/wrk), pinned to its own CPU. A Lua done() hook prints the
// summary and latency percentiles as one JSON line, so nothing depends on wrk's text layout.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WrkOptions {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
  /** send `Connection: close`: one request per connection (churn) */
  close: boolean;
  /** CPUs wrk runs on (taskset); empty = unpinned */
  cpus: number[];
}

export interface WrkResult {
  requests: number;
  seconds: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** latency percentiles in microseconds, as wrk measures them (per request, from send to response) */
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RINGPOLL-WRK {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
`;

/** null when wrk and taskset are there, else why not. */
export function wrkMissing(): string | null {
  for (const tool of ["wrk", "taskset"]) {
    const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
    if (r.error) return `${tool} is not installed (Debian package ${tool === "wrk" ? "wrk" : "util-linux"}; scripts/run setup installs it)`;
  }
  return null;
}

let script: { dir: string; path: string } | null = null;

function reportScript(): string {
  if (!script) {
    const dir = mkdtempSync(join(tmpdir(), "ringpoll-wrk-"));
    script = { dir, path: join(dir, "report.lua") };
    writeFileSync(script.path, REPORT);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return script.path;
}

export function wrkArgs(o: WrkOptions): string[] {
  // wrk takes whole seconds; a fractional window is ended by SIGINT, after which wrk reports as usual.
  const args = ["-t", String(Math.min(o.threads, o.connections)), "-c", String(o.connections), "-d", `${Math.ceil(o.seconds) + (Number.isInteger(o.seconds) ? 0 : 1)}s`, "--latency", "-s", reportScript()];
  if (o.close) args.push("-H", "Connection: close");
  args.push(o.url);
  return o.cpus.length > 0 ? ["taskset", "-c", o.cpus.join(","), "wrk", ...args] : ["wrk", ...args];
}

export function parseWrk(stdout: string): WrkResult {
  const line = stdout.split("\n").find((l) => l.startsWith("RINGPOLL-WRK "));
  if (!line) throw new Error(`wrk printed no summary: ${stdout.trim().split("\n").slice(-3).join(" | ")}`);
  const j = JSON.parse(line.slice("RINGPOLL-WRK ".length)) as Record<string, number>;
  return {
    requests: j.requests!,
    seconds: j.durationUs! / 1e6,
    bytes: j.bytes!,
    errors: { connect: j.connect!, read: j.read!, write: j.write!, status: j.status!, timeout: j.timeout! },
    latencyUs: { p50: j.p50!, p90: j.p90!, p99: j.p99!, p999: j.p999!, max: j.max!, mean: j.mean! },
  };
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const [cmd, ...args] = wrkArgs(o);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const stop = Number.isInteger(o.seconds) ? null : setTimeout(() => child.kill("SIGINT"), o.seconds * 1000);
    // wrk stops itself after -d; the guard only catches a wrk that hangs.
    const guard = setTimeout(() => child.kill("SIGKILL"), (o.seconds + 30) * 1000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(guard);
      if (stop) clearTimeout(stop);
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${(err || out).trim().split("\n").slice(-2).join(" | ")}`));
      try {
        resolve(parseWrk(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}
