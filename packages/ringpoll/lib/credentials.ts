// Rings and privilege drops. An io_uring instance's kernel threads keep the credentials they
// started with (the SQPOLL thread the creator's, io-wq workers those of the thread that started
// them), so a ring made as root can act as root after process.setuid() (libuv's CVE-2024-22017). Native
// code records the ids of each ring and refuses new requests (-EPERM from prep) once they differ;
// to keep that free per request it compares them only after a change was reported, which the
// wrappers below do for every Node API that changes them.
import { native } from "./native.js";

const SETTERS = ["setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"] as const;
let watching = false;

/** Wrap process.setuid & co. (once; only the main thread has them) so each call is reported. */
export function watchCredentialChanges(): void {
  if (watching) return;
  watching = true;
  const proc = process as unknown as Record<string, unknown>;
  for (const name of SETTERS) {
    const original = proc[name];
    const slot = Object.getOwnPropertyDescriptor(process, name);
    // Absent in workers; not writable where a program froze process (then changes go unseen).
    if (typeof original !== "function" || slot?.writable === false || Object.isFrozen(process)) continue;
    proc[name] = {
      // A method shorthand keeps the name; `finally`: a call that failed may have changed some ids.
      [name](this: unknown, ...args: unknown[]): unknown {
        try {
          return original.apply(this, args);
        } finally {
          native.credentials.changed();
        }
      },
    }[name];
  }
}

export interface Ids {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
}

/** The ids now, for messages (process.getuid & co. exist on POSIX, also in workers). */
export function currentIds(): Ids {
  return { uid: process.getuid!(), gid: process.getgid!(), euid: process.geteuid!(), egid: process.getegid!() };
}

/** The error for a request refused because the ring's credentials are no longer the process's. */
export function credentialsChangedError(syscall: string, created: Ids): Error & { code: string } {
  const now = currentIds();
  const diff = (Object.keys(now) as Array<keyof Ids>).filter((k) => now[k] !== created[k]).map((k) => `${k} ${created[k]} → ${now[k]}`);
  const what = diff.length > 0 ? diff.join(", ") : "supplementary groups changed";
  const err = new Error(
    `${syscall} refused: the process's credentials changed since this IoUring was created (${what}); ` +
      "the ring's kernel threads (SQPOLL, io-wq workers) would keep acting with the old ones. " +
      "Create the IoUring after the change, or pass { allowCredentialChange: true } to keep using it.",
  ) as Error & { code: string };
  err.code = "ERR_RINGPOLL_CREDENTIALS_CHANGED";
  Error.captureStackTrace(err, credentialsChangedError);
  return err;
}
