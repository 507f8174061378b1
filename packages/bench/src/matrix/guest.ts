// A guest that stays up (matrix --interleave): QEMU with ttyS1 on a unix socket; the host writes
// "run <round>", the guest's round server (serve.ts) runs the bench and answers with frames and
// "@@ringpoll done <round> <status>" (after "@@ringpoll error <round> <message>" when it failed).
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { DONE, EXITED, parseChannel, READY, ROUND_ERROR } from "./channel.js";
import { endReason, qemuArgs, startQemu, type BootOptions, type QemuProcess } from "./qemu.js";

const run = promisify(execFile);
const STOP_MS = 30_000;

export interface RoundOutput {
  exit: number;
  /** the first line of the round's error, when the bench failed in the guest */
  error: string | null;
  frames: Map<string, Buffer>;
  seconds: number;
}

/** user+system seconds of a process from /proc/<pid>/stat (USER_HZ is 100 in /proc's ABI). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The vCPU threads of a QEMU started with debug-threads=on: thread id by vCPU index. */
export function vcpuThreads(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /^CPU (\d+)\/(TCG|KVM)/.exec(readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8"));
      if (m) out.set(Number(m[1]), Number(tid));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** A guest that failed before its first round, with its last console lines (it is stopped). */
export class GuestFailure extends Error {
  constructor(
    message: string,
    readonly console: string[],
    /** the kernel panicked while booting (QemuProcess.panickedBooting) */
    readonly bootPanic = false,
  ) {
    super(message);
  }
}

export class Guest {
  private text = "";
  private waiter: (() => void) | null = null;
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly q: QemuProcess,
    private readonly socket: Socket,
  ) {
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      this.text += chunk;
      this.waiter?.();
    });
    socket.on("error", () => undefined);
    void q.closed.then(
      () => {
        this.exited = true;
        this.waiter?.();
      },
      () => undefined,
    );
  }

  get pid(): number {
    return this.q.child.pid!;
  }

  /** QEMU's CPU time so far, seconds (all its threads). */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Boots the guest and waits until its job loop is ready; the vCPUs are pinned when o.hostCpus is set. */
  static async start(name: string, o: BootOptions, socketPath: string): Promise<Guest> {
    // a QEMU booted before on this path (retryBootPanic) left its socket file behind
    rmSync(socketPath, { force: true });
    const q = startQemu(o, qemuArgs(o, { socket: socketPath }, true));
    q.deadline(o.timeoutMs, `not ready after ${o.timeoutMs / 1000} s (guest hung); QEMU killed`);
    let socket: Socket;
    try {
      socket = await connectWhenListening(socketPath, q);
    } catch (err) {
      q.kill("no results channel");
      await q.closed.catch(() => undefined);
      throw err;
    }
    const g = new Guest(name, q, socket);
    try {
      await g.until(() => g.text.includes(READY), "before it was ready");
    } catch (err) {
      await g.stop();
      throw new GuestFailure((err as Error).message, g.consoleTail(), q.panickedBooting());
    }
    g.text = "";
    q.deadline(null);
    if (o.hostCpus?.length) await g.pin(o.hostCpus);
    return g;
  }

  /** vCPU n on host CPU hostCpus[n mod length]. */
  private async pin(hostCpus: number[]): Promise<void> {
    for (const [vcpu, tid] of vcpuThreads(this.pid)) {
      await run("taskset", ["-pc", String(hostCpus[vcpu % hostCpus.length]), String(tid)]);
    }
  }

  /** Resolves when `done()` holds; rejects when the round server or QEMU ends first. */
  private until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const ended = EXITED.exec(this.text);
        if (done()) {
          this.waiter = null;
          resolve();
        } else if (ended) {
          this.waiter = null;
          reject(new Error(`${this.name}: the guest's round server exited with ${ended[1]} ${what} (its output is in the console lines)`));
        } else if (this.exited) {
          this.waiter = null;
          void this.q.closed.then(({ code, signal, stderr }) => reject(new Error(`${this.name}: ${this.q.failure() ?? endReason(code, signal, stderr)}`)));
        }
      };
      this.waiter = check;
      check();
    });
  }

  /** Runs the job once in the guest; the guest is killed when it takes longer than timeoutMs. */
  async run(round: number, timeoutMs: number): Promise<RoundOutput> {
    const t0 = performance.now();
    this.text = "";
    this.q.deadline(timeoutMs, `round ${round} gave no result after ${timeoutMs / 1000} s (guest hung); QEMU killed`);
    this.socket.write(`run ${round}\n`);
    let m: RegExpExecArray | null = null;
    await this.until(() => (m = DONE.exec(this.text)) !== null && m[1] === String(round), `in round ${round + 1}`);
    this.q.deadline(null);
    const { frames } = parseChannel(this.text);
    const error = ROUND_ERROR.exec(this.text);
    return { exit: Number(m![2]), error: error && error[1] === String(round) ? error[2]! : null, frames, seconds: (performance.now() - t0) / 1000 };
  }

  /** Last console lines, for a failure message. */
  consoleTail(n = 15): string[] {
    return this.q.console.slice(-n);
  }

  /** Asks the guest to power off; kills QEMU when it does not within 30 s. */
  async stop(): Promise<void> {
    if (!this.exited) {
      this.q.deadline(STOP_MS, "did not power off");
      this.socket.write("quit\n");
    }
    await this.q.closed.catch(() => undefined);
    this.socket.destroy();
  }

  kill(why: string): void {
    this.q.kill(why);
  }
}

/** QEMU creates the socket at start-up; connect once it is there. */
async function connectWhenListening(path: string, q: QemuProcess): Promise<Socket> {
  let exited = false;
  void q.closed.then(
    () => (exited = true),
    () => (exited = true),
  );
  for (;;) {
    if (exited) {
      const { code, signal, stderr } = await q.closed;
      throw new Error(q.failure() ?? endReason(code, signal, stderr));
    }
    if (existsSync(path)) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function socketPath(dir: string, index: number): string {
  return join(dir, `guest-${index}.sock`);
}
