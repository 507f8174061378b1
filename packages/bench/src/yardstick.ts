// The minimal C receivers in bench/c/ (one per receiver kind), the yardstick for the engine's own
// overhead: compiled on first use, fed by the same native sender, measuring their own window.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sys } from "ringpoll";
import { engine, type NativeWindow } from "./engine.js";
import { baseOptions, type PpsParams } from "./pps/run.js";

const SRC = fileURLToPath(new URL("../c/", import.meta.url));

export interface Yardsticks {
  binaries: Map<string, string>;
  remove(): void;
}

/** cc -O2 each bench/c/<kind>.c into a temporary directory. */
export function compileYardsticks(): Yardsticks {
  const dir = mkdtempSync(join(tmpdir(), "ringpoll-c-"));
  const binaries = new Map<string, string>();
  try {
    for (const f of readdirSync(SRC).filter((n) => n.endsWith(".c"))) {
      const kind = f.slice(0, -2);
      const out = join(dir, kind);
      execFileSync("cc", ["-O2", "-Wall", "-o", out, join(SRC, f), "-luring"], { stdio: ["ignore", "ignore", "pipe"] });
      binaries.set(kind, out);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { binaries, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One yardstick run: the C receiver inherits the sockets as fds 3…, the engine only sends. */
export async function runYardstick(binary: string, p: PpsParams): Promise<NativeWindow> {
  const fds = Array.from(engine.openReceivers({ netns: p.receiver.netns, host: p.receiver.host, flows: p.flows, port: p.port, rcvbuf: p.rcvbuf }));
  try {
    const child = spawn(binary, [String(p.warmup), String(p.duration), String(p.cpuReceiver), String(fds.length), String(p.size)], {
      stdio: ["ignore", "pipe", "inherit", ...fds],
    });
    let stdout = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const guard = setTimeout(() => child.kill("SIGKILL"), (p.warmup + p.duration + 10) * 1000);
    const w = await engine.pps({
      ...baseOptions(p, "external", p.duration),
      receiverCpu: -1, // the C loop pins itself
      externalFds: fds,
      externalCounter: new Uint32Array(1),
      firstTimeout: 0, // the C loop counts on its own; this counter never moves
    });
    const code = await exited;
    clearTimeout(guard);
    if (code !== 0) throw new Error(`${binary} exited with ${code}`);
    const r = JSON.parse(stdout) as { packets: number; seconds: number; cpuNs: number };
    return { count: r.packets, secondary: w.secondary, seconds: r.seconds, cpuNs: r.cpuNs, samples: [], kernel: w.kernel };
  } finally {
    for (const fd of fds) sys.close(fd);
  }
}
