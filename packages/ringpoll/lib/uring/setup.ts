// Setting up the ring: options, flag validation and the fallback that drops refused optional flags.
import { release } from "node:os";
import { watchCredentialChanges } from "../credentials.js";
import { errnoError, invalidArgType, invalidArgValue } from "../errors.js";
import { native, type NativeRing } from "../native.js";
import { errno } from "../uring-constants.js";
import { IORING_SETUP, featureNames, readSetupContext, setupErrorCause, type SetupFlagName } from "../uring-probe.js";
import * as validate from "../validate.js";

export interface IoUringOptions {
  /** SQ size (rounded up to a power of two by the kernel). Default 256. */
  entries?: number;
  /** CQ size (IORING_SETUP_CQSIZE); default twice the SQ. */
  cqEntries?: number;
  /** A kernel thread polls the SQ (IORING_SETUP_SQPOLL): submission without syscalls. */
  sqpoll?: boolean | { idleMs?: number; cpu?: number };
  /** Busy-poll the device for completions (IORING_SETUP_IOPOLL; O_DIRECT on devices with poll queues); 'hybrid' adds IORING_SETUP_HYBRID_IOPOLL (6.13+). */
  iopoll?: boolean | "hybrid";
  /** IORING_SETUP_SINGLE_ISSUER: only this thread submits. */
  singleIssuer?: boolean;
  /** IORING_SETUP_DEFER_TASKRUN (implies singleIssuer): completion work runs when this thread asks. */
  deferTaskrun?: boolean;
  /** IORING_SETUP_COOP_TASKRUN: no IPI to interrupt this thread for completion work. */
  coopTaskrun?: boolean;
  /** IORING_SETUP_SUBMIT_ALL: keep submitting a batch after one SQE fails. */
  submitAll?: boolean;
  /** Drop optional flags the kernel refuses instead of failing (see `setup.dropped`). */
  fallback?: boolean;
  /** CQEs handed to JS per call at most. Default 1024. */
  batchSize?: number;
  /**
   * Keep using the ring after process.setuid/setgid/seteuid/setegid/setgroups/initgroups changed
   * the process's credentials. The ring's kernel threads keep the ids it was created with; without
   * this option new requests then fail with ERR_RINGPOLL_CREDENTIALS_CHANGED. Default false.
   */
  allowCredentialChange?: boolean;
}

export interface IoUringSetup {
  /** IORING_SETUP_* names the kernel granted */
  flags: string[];
  /** IORING_FEAT_* names */
  features: string[];
  sqEntries: number;
  cqEntries: number;
  /** flags asked for but dropped because the kernel refused them (fallback: true) */
  dropped: string[];
}

/** The ring and the arrays native code copies each batch of CQEs into. */
export interface OpenedRing {
  ring: NativeRing;
  setup: IoUringSetup;
  iopoll: boolean;
  tags: Uint32Array;
  res: Int32Array;
  flags: Uint32Array;
}

// At load, not at the first ring: a worker's rings learn of a drop only through the main thread's
// process.setuid & co., which exist only there.
watchCredentialChanges();

const OPTIONAL: SetupFlagName[] = ["HYBRID_IOPOLL", "DEFER_TASKRUN", "SINGLE_ISSUER", "COOP_TASKRUN", "SUBMIT_ALL", "SQPOLL", "SQ_AFF"];

function flagNames(flags: number): SetupFlagName[] {
  return (Object.keys(IORING_SETUP) as SetupFlagName[]).filter((k) => (flags & IORING_SETUP[k]) !== 0);
}

export function openRing(options: IoUringOptions): OpenedRing {
  validate.object("options", options);
  validate.knownKeys("options", options, [
    "entries", "cqEntries", "sqpoll", "iopoll", "singleIssuer", "deferTaskrun", "coopTaskrun", "submitAll", "fallback", "batchSize",
    "allowCredentialChange",
  ]);
  const entries = validate.integer("options.entries", options.entries ?? 256, 1, 32768);
  const cqEntries = validate.integer("options.cqEntries", options.cqEntries ?? 0, 0, 65536);
  // The kernel rounds both up to powers of two and refuses a CQ smaller than the SQ.
  if (cqEntries > 0 && pow2(cqEntries) < pow2(entries)) {
    throw invalidArgValue("options.cqEntries", `0 (twice entries) or at least entries (${entries})`, cqEntries);
  }
  const batchSize = validate.integer("options.batchSize", options.batchSize ?? 1024, 1, 1 << 20);
  let flags = 0;
  let sqIdle = 0;
  let sqCpu = -1;
  const sqpoll: unknown = options.sqpoll;
  if (sqpoll !== undefined && sqpoll !== false) {
    if (sqpoll !== true && (sqpoll === null || typeof sqpoll !== "object")) throw invalidArgType("options.sqpoll", "boolean or { idleMs, cpu }", sqpoll);
    flags |= IORING_SETUP.SQPOLL;
    if (sqpoll !== true) {
      const sq = validate.options<{ idleMs?: number; cpu?: number }>("options.sqpoll", sqpoll, ["idleMs", "cpu"]);
      sqIdle = validate.integer("options.sqpoll.idleMs", sq.idleMs ?? 0, 0, validate.UINT32_MAX);
      if (sq.cpu !== undefined) sqCpu = validate.integer("options.sqpoll.cpu", sq.cpu, 0, 4095);
    }
  }
  if (options.iopoll !== undefined && options.iopoll !== false) {
    if (options.iopoll !== true && options.iopoll !== "hybrid") throw invalidArgValue("options.iopoll", "true, false or 'hybrid'", options.iopoll);
    flags |= IORING_SETUP.IOPOLL | (options.iopoll === "hybrid" ? IORING_SETUP.HYBRID_IOPOLL : 0);
  }
  const bool = (name: keyof IoUringOptions) => (options[name] === undefined ? false : validate.boolean(`options.${name}`, options[name]));
  if (bool("singleIssuer")) flags |= IORING_SETUP.SINGLE_ISSUER;
  // TASKRUN_FLAG: the kernel flags queued completion work in the SQ ring, so a wake-up can reap
  // work that came while it ran without going back to the event loop (native/ring_reap.cpp).
  if (bool("deferTaskrun")) flags |= IORING_SETUP.DEFER_TASKRUN | IORING_SETUP.SINGLE_ISSUER | IORING_SETUP.TASKRUN_FLAG;
  if (bool("coopTaskrun")) flags |= IORING_SETUP.COOP_TASKRUN;
  if (bool("submitAll")) flags |= IORING_SETUP.SUBMIT_ALL;
  const fallback = bool("fallback");
  const allowCredentialChange = bool("allowCredentialChange");

  // SharedArrayBuffers cannot be detached, so native code keeps raw pointers to them.
  const tags = new Uint32Array(new SharedArrayBuffer(4 * batchSize));
  const res = new Int32Array(new SharedArrayBuffer(4 * batchSize));
  const cqeFlags = new Uint32Array(new SharedArrayBuffer(4 * batchSize));
  const dropped: string[] = [];
  const create = (f: number) =>
    new native.Ring(entries, f, cqEntries, sqIdle, (f & IORING_SETUP.SQPOLL) !== 0 ? sqCpu : -1, tags, res, cqeFlags);
  let ring: NativeRing | null = null;
  for (;;) {
    try {
      ring = create(flags);
      break;
    } catch (err) {
      const e = err as { errno?: number; code?: string; syscall?: string };
      const errnoValue = -(e.errno ?? 0);
      if (e.syscall !== "io_uring_setup") throw err; // e.g. eventfd: EMFILE
      if (e.code !== "EINVAL") {
        throw errnoError(errnoValue, "io_uring_setup", setupErrorCause(errnoValue, readSetupContext()));
      }
      if ((flags & IORING_SETUP.SQPOLL) !== 0 && sqCpu >= 0 && cpuRefused(sqCpu)) {
        throw errnoError(errno.EINVAL, "io_uring_setup", `options.sqpoll.cpu ${sqCpu} refused: the SQ thread is bound only to an online CPU this process may run on`);
      }
      const refused = refusedFlags(entries, flags, cqEntries);
      // Each flag alone is fine but not together: drop optional flags one at a time.
      const droppable = refused.length > 0 ? refused.filter((n) => OPTIONAL.includes(n)) : OPTIONAL.filter((n) => (flags & IORING_SETUP[n]) !== 0).slice(0, 1);
      if (!fallback || droppable.length === 0 || (refused.length > 0 && refused.length !== droppable.length)) {
        const names = refused.length > 0 ? refused.map((n) => `IORING_SETUP_${n}`).join(", ") : `the combination ${flagNames(flags).map((n) => `IORING_SETUP_${n}`).join("|")}`;
        throw errnoError(errno.EINVAL, "io_uring_setup", `${names} refused by the running kernel ${release()}${fallback ? "" : "; pass fallback: true to drop optional flags"}`);
      }
      for (const n of droppable) {
        flags &= ~IORING_SETUP[n];
        dropped.push(n);
        if (n === "SINGLE_ISSUER") flags &= ~IORING_SETUP.DEFER_TASKRUN;
        if ((flags & (IORING_SETUP.DEFER_TASKRUN | IORING_SETUP.COOP_TASKRUN)) === 0) flags &= ~IORING_SETUP.TASKRUN_FLAG;
        if (n === "SQPOLL") flags &= ~IORING_SETUP.SQ_AFF;
      }
    }
  }
  if (allowCredentialChange) ring.allowCredentialChange();
  const params = ring.params();
  if (typeof params === "number") throw errnoError(-params, "io_uring_setup");
  const [gotFlags, features, sqEntries, cqGot] = params;
  return {
    ring,
    setup: { flags: flagNames(gotFlags), features: featureNames(features), sqEntries, cqEntries: cqGot, dropped },
    iopoll: (gotFlags & IORING_SETUP.IOPOLL) !== 0,
    tags,
    res,
    flags: cqeFlags,
  };
}

function pow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/** The kernel refuses SQPOLL bound to this CPU (offline, absent, or outside the process's cpuset). */
function cpuRefused(cpu: number): boolean {
  return native.uringProbe.setup(4, IORING_SETUP.SQPOLL | IORING_SETUP.SQ_AFF, 0, cpu, 0).result === -errno.EINVAL;
}

/** Which of `flags` the kernel refuses when asked alone (with what each one requires). */
function refusedFlags(entries: number, flags: number, cqEntries: number): SetupFlagName[] {
  const needs: Partial<Record<SetupFlagName, number>> = {
    DEFER_TASKRUN: IORING_SETUP.SINGLE_ISSUER,
    TASKRUN_FLAG: IORING_SETUP.DEFER_TASKRUN | IORING_SETUP.SINGLE_ISSUER,
    HYBRID_IOPOLL: IORING_SETUP.IOPOLL,
    SQ_AFF: IORING_SETUP.SQPOLL,
  };
  const refused: SetupFlagName[] = [];
  for (const name of flagNames(flags)) {
    const f = IORING_SETUP[name] | (needs[name] ?? 0);
    const r = native.uringProbe.setup(Math.min(entries, 8), f, cqEntries, -1, 0);
    if (r.result === -errno.EINVAL) refused.push(name);
  }
  return refused;
}
