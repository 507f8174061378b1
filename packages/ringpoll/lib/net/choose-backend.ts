// backend: 'auto' | 'io_uring' | 'epoll'. auto runs io_uring when the kernel lets this process
// set up a ring with what a TCP server needs, else epoll, and says why.
import type { Backend, BackendEvents, BackendName } from "./backend.js";
import { EpollBackend } from "./epoll-backend.js";
import { UringBackend, uringUnsupported, type UringBackendOptions } from "./uring-backend.js";

export type BackendChoice = "auto" | BackendName;

export interface BackendInfo {
  name: BackendName;
  /** why this backend runs: "requested", or what made auto choose it */
  reason: string;
}

// Refusals auto falls back on: seccomp / io_uring_disabled (EPERM, EACCES), no io_uring in the
// kernel (ENOSYS), locked memory or ring memory (ENOMEM), a kernel too old for buffer rings (EINVAL).
const FALLBACK_CODES = new Set(["EPERM", "EACCES", "ENOSYS", "ENOMEM", "EINVAL"]);

export function createBackend(choice: BackendChoice, events: BackendEvents, options: UringBackendOptions): { backend: Backend; info: BackendInfo } {
  if (choice === "epoll") return { backend: new EpollBackend(events), info: { name: "epoll", reason: "requested" } };
  const unsupported = uringUnsupported();
  if (unsupported !== null) {
    if (choice === "io_uring") throw Object.assign(new Error(`io_uring cannot serve TCP here: ${unsupported}`), { code: "ERR_RINGPOLL_UNSUPPORTED" });
    return { backend: new EpollBackend(events), info: { name: "epoll", reason: `auto: ${unsupported}` } };
  }
  try {
    return { backend: new UringBackend(events, options), info: { name: "io_uring", reason: choice === "io_uring" ? "requested" : "auto: io_uring available" } };
  } catch (err) {
    const e = err as Error & { code?: string };
    if (choice === "io_uring" || !FALLBACK_CODES.has(e.code ?? "")) throw err;
    return { backend: new EpollBackend(events), info: { name: "epoll", reason: `auto: ${e.message}` } };
  }
}
