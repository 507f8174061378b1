// Why an IOPOLL read/write was refused (EOPNOTSUPP): the fd lacks O_DIRECT, or its block device
// has no poll queues (queue/io_poll=0, e.g. virtio-blk, or NVMe without nvme.poll_queues).
import { existsSync, fstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const O_DIRECT = 0o40000;

function major(dev: number): number {
  return (dev & 0xfff00) >>> 8;
}
function minor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & 0xfff00);
}

export interface BlockDevice {
  /** whole-disk name, e.g. "nvme0n1" (a partition's queue is its disk's) */
  name: string;
  /** queue/io_poll: "1" when the device has poll queues */
  ioPoll: string | null;
  /** queue/scheduler, e.g. "none [mq-deadline] kyber bfq" */
  scheduler: string | null;
}

/** The whole-disk block device a file (fd or path) lives on, or is. null when there is none (tmpfs). */
export function blockDeviceOf(file: number | string): BlockDevice | null {
  try {
    const st = typeof file === "number" ? fstatSync(file) : statSync(file);
    const dev = st.isBlockDevice() ? st.rdev : st.dev;
    let dir = realpathSync(`/sys/dev/block/${major(dev)}:${minor(dev)}`);
    if (existsSync(join(dir, "partition"))) dir = dirname(dir);
    const queue = (f: string): string | null => {
      const path = join(dir, "queue", f);
      return existsSync(path) ? readFileSync(path, "utf8").trim() : null;
    };
    return { name: basename(dir), ioPoll: queue("io_poll"), scheduler: queue("scheduler") };
  } catch {
    return null;
  }
}

function hasODirect(fd: number): boolean | null {
  try {
    const m = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
    return m ? (Number.parseInt(m[1]!, 8) & O_DIRECT) !== 0 : null;
  } catch {
    return null;
  }
}

export function iopollCause(fd: number): string {
  if (hasODirect(fd) === false) return `IOPOLL needs O_DIRECT and fd ${fd} was opened without it`;
  const dev = blockDeviceOf(fd);
  if (dev === null) return "IOPOLL needs a block device with poll queues, and this fd is not on one";
  if (dev.ioPoll === "0") return `device ${dev.name} has no poll queues (queue/io_poll=0)`;
  return `device ${dev.name} (queue/io_poll=${dev.ioPoll ?? "absent"}) refused polled I/O`;
}
