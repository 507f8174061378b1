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
