// The host's load while a round runs: how busy all host CPUs were, how much of that was the
// matrix's own guests (QEMU's CPU time), and the rest — other work sharing the machine.
import { loadavg } from "node:os";
import { readFileSync } from "node:fs";

export interface LoadSnapshot {
  /** jiffies (USER_HZ, 100 per second) summed over all CPUs */
  busy: number;
  total: number;
  /** CPU seconds of the guests' QEMU processes */
  guests: number;
}

export interface HostLoad {
  /** busy fraction of all host CPUs (1 = every CPU busy) */
  hostBusy: number;
  /** the part of it spent by the matrix's QEMU processes */
  guestsBusy: number;
  /** the rest: load that was not the matrix's */
  otherBusy: number;
  /** 1-minute load average at the end */
  load1: number;
}

/** The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal … */
export function cpuJiffies(stat: string): { busy: number; total: number } {
  const line = stat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return { busy: 0, total: 0 };
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, total: busy + idle! + iowait! };
}

export function snapshot(guestCpuSeconds: number): LoadSnapshot {
  let stat = "";
  try {
    stat = readFileSync("/proc/stat", "utf8");
  } catch {
    // no /proc: the fractions come out 0
  }
  return { ...cpuJiffies(stat), guests: guestCpuSeconds };
}

export function loadBetween(a: LoadSnapshot, b: LoadSnapshot): HostLoad {
  const total = b.total - a.total;
  const frac = (x: number): number => (total > 0 ? Math.min(1, Math.max(0, x / total)) : 0);
  const hostBusy = frac(b.busy - a.busy);
  const guestsBusy = frac((b.guests - a.guests) * 100);
  return { hostBusy, guestsBusy, otherBusy: Math.max(0, hostBusy - guestsBusy), load1: loadavg()[0]! };
}
