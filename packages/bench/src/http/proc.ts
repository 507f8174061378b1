// What a server process costs, read from /proc: CPU time of all its threads and its resident memory.
import { readdirSync, readFileSync } from "node:fs";

/** Nanoseconds on CPU of every live thread of `pid` (schedstat's first field; ns resolution). */
export function processCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return total;
}

/** VmRSS and VmHWM (peak) of `pid`, KiB. */
export function processRssKiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(/^(\w+):\s+(\d+)/m.exec(status.slice(status.indexOf(`${name}:`)))?.[2] ?? NaN);
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

const TICK_NS = 1e9 / 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** User and system CPU time of the whole process (all threads, exited ones included), ns; 10 ms resolution. */
export function processUserSysNs(pid: number): { user: number; sys: number } {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) * TICK_NS, sys: Number(fields[12]) * TICK_NS };
}
