// IOPS: 4 KiB random O_DIRECT reads. Engines run interleaved: the native io_uring reader (fio
// t/io_uring knobs), node's fs.promises on the libuv threadpool, and fio's io_uring engine when fio
// is installed, all on the same file or device.
import { execFile, execFileSync } from "node:child_process";
import { constants, promises as fsp, readFileSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import { promisify } from "node:util";
import { alignedBuffer, blockDeviceOf } from "ringpoll";
import type { Run, ScenarioResult } from "../schema.js";
import { engine, type NativeWindow } from "../engine.js";
import { summarize, type Progress } from "../pps/run.js";

export const IOPS_ENGINES = ["io_uring", "fs", "fio"] as const;
export type IopsEngine = (typeof IOPS_ENGINES)[number];

export interface IopsParams {
  path: string;
  engines: IopsEngine[];
  blockSize: number;
  depth: number;
  batch: number;
  fixedBuffers: boolean;
  fixedFiles: boolean;
  polled: boolean;
  duration: number;
  warmup: number;
  runs: number;
  cpu: number;
}

/** queue/io_poll and scheduler of the block device behind `path` (null when not a block device). */
export function deviceInfo(path: string): { device: string; ioPoll: string | null; scheduler: string | null } | null {
  const dev = blockDeviceOf(path);
  return dev === null ? null : { device: dev.name, ioPoll: dev.ioPoll, scheduler: dev.scheduler };
}

export function fioAvailable(): boolean {
  try {
    execFileSync("fio", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function runNative(p: IopsParams): Promise<NativeWindow> {
  return engine.iops({
    path: p.path,
    blockSize: p.blockSize,
    depth: p.depth,
    batchSubmit: p.batch,
    batchComplete: p.batch,
    fixedBuffers: p.fixedBuffers,
    fixedFiles: p.fixedFiles,
    polled: p.polled,
    cpu: p.cpu,
    warmup: p.warmup,
    seconds: p.duration,
  });
}

/** fs.promises: `depth` concurrent FileHandle.read loops; CPU is the whole process (threadpool included). */
async function runFs(p: IopsParams): Promise<NativeWindow> {
  const fh = await fsp.open(p.path, constants.O_RDONLY | constants.O_DIRECT);
  try {
    const size = (await fh.stat()).isBlockDevice() ? blockDeviceSize(p.path) : (await fh.stat()).size;
    const blocks = Math.floor(size / p.blockSize);
    let count = 0;
    let measuring = false;
    let stop = false;
    const samples: number[] = [];
    const worker = async (): Promise<void> => {
      const buf = alignedBuffer(p.blockSize);
      while (!stop) {
        const off = Math.floor(Math.random() * blocks) * p.blockSize;
        const { bytesRead } = await fh.read(buf, 0, p.blockSize, off);
        if (bytesRead !== p.blockSize) throw new Error(`short read of ${bytesRead} bytes at ${off}`);
        if (measuring) count++;
      }
    };
    const workers = Array.from({ length: p.depth }, worker);
    const failed = Promise.race(workers).then(() => undefined);
    await Promise.race([new Promise((r) => setTimeout(r, p.warmup * 1000)), failed]);
    measuring = true;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let last = 0;
    for (let s = 0; s < Math.ceil(p.duration); s++) {
      const ms = Math.min(1, p.duration - s) * 1000;
      await Promise.race([new Promise((r) => setTimeout(r, ms)), failed]);
      samples.push(((count - last) * 1000) / ms);
      last = count;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const n = count;
    stop = true;
    await Promise.all(workers);
    return { count: n, secondary: 0, seconds, cpuNs: (cpu.user + cpu.system) * 1000, samples, kernel: null };
  } finally {
    await fh.close();
  }
}

function blockDeviceSize(path: string): number {
  const dev = basename(realpathSync(path));
  return Number(readFileSync(`/sys/class/block/${dev}/size`, "utf8").trim()) * 512;
}

interface FioJob {
  read: { iops: number; total_ios: number; runtime: number; iops_mean: number };
  usr_cpu: number;
  sys_cpu: number;
}

/** fio's io_uring engine with the same knobs (hipri = IOPOLL). */
async function runFio(p: IopsParams): Promise<NativeWindow> {
  const args = [
    "--output-format=json", "--name=ringpoll", `--filename=${p.path}`, "--ioengine=io_uring", "--direct=1",
    "--rw=randread", `--bs=${p.blockSize}`, `--iodepth=${p.depth}`, `--iodepth_batch_submit=${p.batch}`,
    `--iodepth_batch_complete_min=${p.batch}`, `--fixedbufs=${p.fixedBuffers ? 1 : 0}`,
    `--registerfiles=${p.fixedFiles ? 1 : 0}`, `--hipri=${p.polled ? 1 : 0}`, "--time_based=1",
    `--runtime=${p.duration}s`, `--ramp_time=${p.warmup}s`, "--norandommap=1", "--randrepeat=0",
    ...(p.cpu >= 0 ? [`--cpus_allowed=${p.cpu}`] : []),
  ];
  const { stdout } = await promisify(execFile)("fio", args, { maxBuffer: 16 << 20 });
  const job = (JSON.parse(stdout.slice(stdout.indexOf("{"))) as { jobs: FioJob[] }).jobs[0]!;
  const seconds = job.read.runtime / 1000;
  const busy = (job.usr_cpu + job.sys_cpu) / 100;
  return { count: job.read.total_ios, secondary: 0, seconds, cpuNs: busy * seconds * 1e9, samples: [], kernel: null };
}

export async function runIops(p: IopsParams, progress: Progress): Promise<ScenarioResult[]> {
  const total = p.runs * p.engines.length;
  let done = 0;
  const runs = new Map<string, Run[]>(p.engines.map((e) => [e, []]));
  for (let round = 0; round < p.runs; round++) {
    for (const e of p.engines) {
      progress(done, total, `${e} round ${round + 1}/${p.runs}`);
      const w = e === "io_uring" ? await runNative(p) : e === "fs" ? await runFs(p) : await runFio(p);
      runs.get(e)!.push({
        round,
        slot: p.engines.indexOf(e),
        iops: w.count / w.seconds,
        packets: w.count,
        seconds: w.seconds,
        cpuNsPerPacket: w.count > 0 ? w.cpuNs / w.count : null,
        receiverBusy: w.cpuNs / (w.seconds * 1e9),
        kernel: null,
        samples: w.samples,
        extra: w.ringFlags !== undefined ? { ringFlags: w.ringFlags } : {},
      });
      progress(++done, total, e);
    }
  }
  const dev = deviceInfo(p.path);
  return p.engines.map((e) => ({
    scenario: "iops" as const,
    receiver: e,
    params: {
      path: p.path,
      blockSize: p.blockSize,
      depth: p.depth,
      batch: p.batch,
      fixedBuffers: p.fixedBuffers,
      fixedFiles: p.fixedFiles,
      polled: p.polled,
      duration: p.duration,
      device: dev?.device ?? "unknown",
      ioPoll: dev?.ioPoll ?? "unknown",
      scheduler: dev?.scheduler ?? "unknown",
    },
    runs: runs.get(e)!,
    summary: summarize(runs.get(e)!, "iops"),
  }));
}
