// Shared test helpers: real fds, closed after each test.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IoUring, sys } from "ringpoll";

export class Fds {
  #fds: number[] = [];
  track(fd: number): number {
    this.#fds.push(fd);
    return fd;
  }
  udp(): { fd: number; port: number } {
    const fd = this.track(sys.udpSocket({ port: 0 }));
    return { fd, port: sys.localPort(fd) };
  }
  pipe(): [number, number] {
    const [r, w] = sys.pipe();
    this.track(r);
    this.track(w);
    return [r, w];
  }
  eventfd(initval = 0): number {
    return this.track(sys.eventfd(initval));
  }
  closeAll(): void {
    for (const fd of this.#fds.splice(0)) {
      try {
        sys.close(fd);
      } catch {
        // already closed by the test
      }
    }
  }
}

/** Why an io_uring cannot be set up here (a skip reason), or null when it can. */
export function uringSkipReason(): string | null {
  try {
    new IoUring({ entries: 2 }).close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

export const one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** Full garbage collections with the loop turning between them (weak references cleared). */
export async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("tests run with --expose-gc");
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves after the event loop has had a chance to run `turns` times. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Builds test/native/fixtures/seccomp-deny-uring.c into `dir`: a launcher whose seccomp filter makes
 * io_uring_setup fail with a chosen errno. Null when there is no C compiler.
 */
export function seccompDenyUring(dir: string): string | null {
  const out = join(dir, "seccomp-deny-uring");
  const src = fileURLToPath(new URL("./fixtures/seccomp-deny-uring.c", import.meta.url));
  try {
    execFileSync("cc", ["-Wall", "-Wextra", "-Werror", "-o", out, src], { stdio: "ignore" });
    return out;
  } catch {
    return null;
  }
}
