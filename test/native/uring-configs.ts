// The setup configurations every ring test runs under, as liburing's own suite does.
import { IoUring, type IoUringOptions } from "ringpoll";

export const configs: Array<[string, IoUringOptions]> = [
  ["default", {}],
  ["SINGLE_ISSUER+DEFER_TASKRUN", { singleIssuer: true, deferTaskrun: true }],
  ["COOP_TASKRUN", { coopTaskrun: true }],
  ["SQPOLL", { sqpoll: { idleMs: 50 } }],
];

/** Rings created in a test, closed after it. */
export class Rings {
  #rings: IoUring[] = [];
  open(options: IoUringOptions = {}): IoUring {
    const ring = new IoUring(options);
    this.#rings.push(ring);
    return ring;
  }
  closeAll(): void {
    for (const r of this.#rings.splice(0)) r.close();
  }
}
