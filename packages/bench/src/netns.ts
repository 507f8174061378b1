// --netns: two network namespaces joined by a veth pair, so sender and receiver talk over a real
// device path instead of loopback and the receiver's /proc/net/snmp counts only bench traffic.
// Created with iproute2, always removed (also on SIGINT/SIGTERM and on failure half way).
import { execFileSync } from "node:child_process";
import { cancelRuns } from "./engine.js";

export interface NetnsPair {
  sender: { netns: string; host: string };
  receiver: { netns: string; host: string };
  remove(): void;
}

const live = new Set<string>();
let hooked = false;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function removeAll(): void {
  for (const name of live) {
    try {
      ip("netns", "del", name);
    } catch {
      // already gone
    }
    live.delete(name);
  }
}

function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", removeAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      cancelRuns();
      removeAll();
      process.exit(130);
    });
  }
}

export function netnsAvailable(): string | null {
  if (process.getuid?.() !== 0) return "--netns needs root (it creates network namespaces)";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "--netns needs iproute2 (the ip command)";
  }
  return null;
}

// A veth's carrier and queueing discipline are switched on by the kernel's link-watch work, which
// needs the RTNL lock; while another process tears a namespace down that can take seconds, and
// until then every packet is dropped silently. Wait (bounded) for operstate UP on both ends.
function awaitOperUp(netns: string, dev: string, timeoutMs = 10_000): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const out = execFileSync("ip", ["-n", netns, "-o", "link", "show", "dev", dev], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (/ state UP /.test(out)) return;
    if (Date.now() > deadline) throw new Error(`${dev} in ${netns} is not up after ${timeoutMs / 1000} s: ${out.trim()}`);
    Atomics.wait(pause, 0, 0, 10);
  }
}

export function createNetnsPair(): NetnsPair {
  hookSignals();
  const tag = `rp${process.pid}`;
  const a = `${tag}-send`;
  const b = `${tag}-recv`;
  const remove = (): void => {
    for (const n of [a, b]) {
      if (!live.has(n)) continue;
      try {
        ip("netns", "del", n);
      } catch {
        // already gone
      }
      live.delete(n);
    }
  };
  try {
    for (const n of [a, b]) {
      ip("netns", "add", n);
      live.add(n);
    }
    ip("link", "add", `${tag}a`, "netns", a, "type", "veth", "peer", "name", `${tag}b`, "netns", b);
    ip("-n", a, "addr", "add", "10.77.0.1/24", "dev", `${tag}a`);
    ip("-n", b, "addr", "add", "10.77.0.2/24", "dev", `${tag}b`);
    for (const [n, dev] of [[a, `${tag}a`], [b, `${tag}b`]] as const) {
      ip("-n", n, "link", "set", "lo", "up");
      ip("-n", n, "link", "set", dev, "up");
    }
    for (const [n, dev] of [[a, `${tag}a`], [b, `${tag}b`]] as const) awaitOperUp(n, dev);
  } catch (err) {
    remove();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not set up network namespaces: ${stderr || (err as Error).message}`);
  }
  return {
    sender: { netns: `/var/run/netns/${a}`, host: "10.77.0.1" },
    receiver: { netns: `/var/run/netns/${b}`, host: "10.77.0.2" },
    remove,
  };
}
