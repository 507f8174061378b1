// The setup configurations every ring test runs under, as liburing's own suite does.
import { release } from "node:os";
import { describe } from "vitest";
import { IoUring, type IoUringOptions } from "ringpoll";

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

function refused(options: IoUringOptions): boolean {
  try {
    void new IoUring(options).close();
    return false;
  } catch {
    return true;
  }
}

/** Why tests of a feature skip on the running kernel; undefined when it has the feature. */
export const lacks = {
  deferTaskrun: refused({ deferTaskrun: true }) ? `kernel ${release()} lacks IORING_SETUP_DEFER_TASKRUN (6.1+)` : undefined,
  multishot: kernelAtLeast(6, 0) ? undefined : `kernel ${release()} lacks IORING_RECV_MULTISHOT (6.0+)`,
};

export const configs: Array<[string, IoUringOptions, (string | undefined)?]> = [
  ["default", {}],
  ["SINGLE_ISSUER+DEFER_TASKRUN", { singleIssuer: true, deferTaskrun: true }, lacks.deferTaskrun],
  ["COOP_TASKRUN", { coopTaskrun: true }],
  ["SQPOLL", { sqpoll: { idleMs: 50 } }],
];

/**
 * One describe block per configuration; a configuration (or, with `needs`, the whole block) the
 * kernel lacks is skipped with the reason in its title.
 */
export function eachConfig(title: string, fn: (options: IoUringOptions) => void, needs?: string): void {
  for (const [name, options, lacking] of configs) {
    const reason = needs ?? lacking;
    if (reason !== undefined) describe.skip(`${title} [${name}] (skipped: ${reason})`, () => fn(options));
    else describe(`${title} [${name}]`, () => fn(options));
  }
}

/** Rings created in a test, closed after it. */
export class Rings {
  #rings: IoUring[] = [];
  open(options: IoUringOptions = {}): IoUring {
    const ring = new IoUring(options);
    this.#rings.push(ring);
    return ring;
  }
  /** Resolves once every ring has drained (close() itself returns at once). */
  closeAll(): Promise<void[]> {
    return Promise.all(this.#rings.splice(0).map((r) => r.close()));
  }
}
