// What this host's io_uring allows, found by trying (setup flags, opcodes, features), and why
// io_uring_setup fails when it does: ENOSYS, kernel.io_uring_disabled, or a seccomp filter.
import { readFileSync } from "node:fs";
import { constants, release } from "node:os";
import { errnoError } from "./errors.js";
import { native } from "./native.js";
import * as validate from "./validate.js";

/** IORING_SETUP_* bits (uapi), newest included; a kernel that does not know a bit answers EINVAL. */
export const IORING_SETUP = {
  IOPOLL: 1 << 0,
  SQPOLL: 1 << 1,
  SQ_AFF: 1 << 2,
  CQSIZE: 1 << 3,
  CLAMP: 1 << 4,
  ATTACH_WQ: 1 << 5,
  R_DISABLED: 1 << 6,
  SUBMIT_ALL: 1 << 7,
  COOP_TASKRUN: 1 << 8,
  TASKRUN_FLAG: 1 << 9,
  SQE128: 1 << 10,
  CQE32: 1 << 11,
  SINGLE_ISSUER: 1 << 12,
  DEFER_TASKRUN: 1 << 13,
  NO_MMAP: 1 << 14,
  REGISTERED_FD_ONLY: 1 << 15,
  NO_SQARRAY: 1 << 16,
  HYBRID_IOPOLL: 1 << 17,
  CQE_MIXED: 1 << 18,
  SQE_MIXED: 1 << 19,
  SQ_REWIND: 1 << 20,
} as const;

export type SetupFlagName = keyof typeof IORING_SETUP;

// Flags the kernel only accepts together with others (io_uring_sanitise_params, io_sq_offload_create).
const SETUP_FLAG_NEEDS: Partial<Record<SetupFlagName, SetupFlagName[]>> = {
  SQ_AFF: ["SQPOLL"],
  TASKRUN_FLAG: ["COOP_TASKRUN"],
  DEFER_TASKRUN: ["SINGLE_ISSUER"],
  REGISTERED_FD_ONLY: ["NO_MMAP"],
  HYBRID_IOPOLL: ["IOPOLL"],
  SQ_REWIND: ["NO_SQARRAY"],
};

/** IORING_FEAT_* bits reported in io_uring_params.features, by bit number. */
export const IORING_FEAT_NAMES: readonly string[] = [
  "SINGLE_MMAP",
  "NODROP",
  "SUBMIT_STABLE",
  "RW_CUR_POS",
  "CUR_PERSONALITY",
  "FAST_POLL",
  "POLL_32BITS",
  "SQPOLL_NONFIXED",
  "EXT_ARG",
  "NATIVE_WORKERS",
  "RSRC_TAGS",
  "CQE_SKIP",
  "LINKED_FILE",
  "REG_REG_RING",
  "RECVSEND_BUNDLE",
  "MIN_TIMEOUT",
  "RW_ATTR",
  "NO_IOWAIT",
];

/** IORING_OP_* names without the prefix, by opcode number (enum io_uring_op). */
export const IORING_OP_NAMES: readonly string[] = [
  "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
  "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL",
  "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ", "WRITE",
  "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS",
  "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
  "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC",
  "SENDMSG_ZC", "READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV",
  "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",
  "WRITEV_FIXED", "PIPE", "NOP128", "URING_CMD128",
];

export function opcodeName(op: number): string {
  return IORING_OP_NAMES[op] ?? `OP_${op}`;
}

export function featureNames(features: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((features >>> bit) & 1) names.push(IORING_FEAT_NAMES[bit] ?? `BIT_${bit}`);
  }
  return names;
}

/** What decides whether io_uring_setup is allowed, as read from /proc. */
export interface SetupContext {
  kernelRelease: string;
  /** kernel.io_uring_disabled (6.6+): 0 all, 1 CAP_SYS_ADMIN or io_uring_group only, 2 nobody; null: no such sysctl */
  ioUringDisabled: number | null;
  /** kernel.io_uring_group: the group allowed when io_uring_disabled=1; -1 = none */
  ioUringGroup: number | null;
  /** Seccomp: in /proc/self/status: 0 none, 1 strict, 2 filter */
  seccompMode: number | null;
  /** Seccomp_filters: in /proc/self/status */
  seccompFilters: number | null;
  capSysAdmin: boolean;
  /** effective and supplementary group ids */
  groups: number[];
}

function readInt(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isNaN(n) ? null : n;
  } catch {
    return null;
  }
}

function statusFields(): Map<string, string> {
  const fields = new Map<string, string>();
  let text = "";
  try {
    text = readFileSync("/proc/self/status", "utf8");
  } catch {
    return fields;
  }
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return fields;
}

const CAP_SYS_ADMIN = 21n;

export function readSetupContext(): SetupContext {
  const status = statusFields();
  const int = (key: string): number | null => {
    const v = status.get(key);
    return v === undefined ? null : Number.parseInt(v, 10);
  };
  const capEff = status.get("CapEff");
  const groups = new Set<number>(process.getgroups?.() ?? []);
  if (process.getegid) groups.add(process.getegid());
  return {
    kernelRelease: release(),
    ioUringDisabled: readInt("/proc/sys/kernel/io_uring_disabled"),
    ioUringGroup: readInt("/proc/sys/kernel/io_uring_group"),
    seccompMode: int("Seccomp"),
    seccompFilters: int("Seccomp_filters"),
    capSysAdmin: capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_SYS_ADMIN) & 1n) === 1n,
    groups: [...groups],
  };
}

const { EPERM, ENOMEM, EACCES, EINVAL, ENFILE, EMFILE, ENOSYS } = constants.errno;

function kernelVersion(releaseText: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(releaseText);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function seccompText(ctx: SetupContext): string {
  const filters = ctx.seccompFilters === null ? "" : `, Seccomp_filters: ${ctx.seccompFilters}`;
  return (
    `a seccomp filter refuses io_uring_setup: Seccomp: 2${filters} in /proc/self/status, and Docker's default ` +
    "profile blocks io_uring since 2023 unless it allows io_uring_setup, io_uring_enter and io_uring_register"
  );
}

function sysctlText(ctx: SetupContext): string | null {
  if (ctx.ioUringDisabled === 2) return "kernel.io_uring_disabled=2: io_uring is disabled for all processes";
  if (ctx.ioUringDisabled === 1) {
    const group = ctx.ioUringGroup ?? -1;
    const allowed = ctx.capSysAdmin || (group >= 0 && ctx.groups.includes(group));
    if (allowed) return null;
    const who = group >= 0 ? `CAP_SYS_ADMIN or members of group ${group}` : "CAP_SYS_ADMIN (no group is set)";
    return `kernel.io_uring_disabled=1, kernel.io_uring_group=${group}: only processes with ${who} may create rings`;
  }
  return null;
}

/**
 * Why io_uring_setup failed with `errno`, given what /proc says (pure, so it is testable with any
 * sysctl value). The text ends with the running kernel.
 */
export function setupErrorCause(errno: number, ctx: SetupContext): string {
  const kernel = `kernel ${ctx.kernelRelease}`;
  const seccomp = ctx.seccompMode === 2 ? seccompText(ctx) : null;
  let cause: string;
  switch (errno) {
    case ENOSYS: {
      const v = kernelVersion(ctx.kernelRelease);
      if (ctx.ioUringDisabled !== null) {
        // The sysctl is registered by io_uring itself: the kernel has io_uring.
        cause = seccomp ?? "this kernel has io_uring (kernel.io_uring_disabled exists), so a sandbox between this process and the kernel refuses the call";
      } else if (v !== null && (v[0] < 5 || (v[0] === 5 && v[1] < 1))) {
        cause = "the kernel is older than 5.1, which introduced io_uring";
      } else if (seccomp) {
        cause = `either the kernel was built without io_uring (CONFIG_IO_URING=n) or ${seccomp}`;
      } else {
        cause = "the kernel was built without io_uring (CONFIG_IO_URING=n)";
      }
      break;
    }
    case EPERM: {
      const sysctl = sysctlText(ctx);
      if (sysctl && seccomp) cause = `${sysctl}; also ${seccomp}`;
      else if (sysctl) cause = sysctl;
      else if (seccomp) cause = seccomp;
      else {
        const value = ctx.ioUringDisabled === null ? "absent" : `=${ctx.ioUringDisabled}`;
        cause = `neither kernel.io_uring_disabled (${value}) nor a seccomp filter (Seccomp: ${ctx.seccompMode ?? "unknown"}) explains it; a Linux security module may refuse io_uring`;
      }
      break;
    }
    case EACCES:
      cause = seccomp ?? "a Linux security module (SELinux, AppArmor) refuses io_uring";
      break;
    case ENOMEM:
      cause = "no memory for the rings; before 5.12 ring memory counts against RLIMIT_MEMLOCK (ulimit -l)";
      break;
    case EMFILE:
    case ENFILE:
      cause = "too many open files: a ring needs one file descriptor";
      break;
    case EINVAL:
      cause = "the kernel refused these setup parameters or flags";
      break;
    default:
      cause = seccomp ?? "unexpected error from io_uring_setup";
  }
  return `${cause}; ${kernel}`;
}

/**
 * The message for an io_uring_setup failure, naming its cause, e.g. "io_uring_setup EPERM:
 * operation not permitted (kernel.io_uring_disabled=2: io_uring is disabled for all processes;
 * kernel 6.18.44)". `errno` is positive.
 */
export function explainSetupError(errno: number, ctx: SetupContext = readSetupContext()): string {
  validate.integer("errno", errno, 1, 4095);
  return errnoError(errno, "io_uring_setup", setupErrorCause(errno, ctx)).message;
}

export interface IoUringProbe {
  /** io_uring_setup succeeded for a default ring */
  available: boolean;
  /** why io_uring is refused (or only partly usable); null when nothing is wrong */
  reason: string | null;
  /** errno code of the failed default io_uring_setup, e.g. "EPERM"; null when it succeeded */
  setupError: string | null;
  sysctl: { io_uring_disabled: number | null; io_uring_group: number | null };
  /** from /proc/self/status; mode 2 = a filter is installed (it may or may not cover io_uring) */
  seccomp: { mode: number | null; filters: number | null };
  /** supported opcodes, uapi names without IORING_OP_ ("NOP", "READ", "RECV", …) */
  opcodes: string[];
  /** every IORING_SETUP_* flag: accepted by io_uring_setup (with the flags it needs), tried for real */
  setupFlags: Record<SetupFlagName, boolean>;
  /** the errno code of each refused setup flag, e.g. { SQ_REWIND: "EINVAL" } */
  refusedSetupFlags: Partial<Record<SetupFlagName, string>>;
  /** IORING_FEAT_* names of a default ring */
  features: string[];
}

const PROBE_ENTRIES = 4;
const SQ_THREAD_IDLE_MS = 10;

function firstAllowedCpu(): number {
  const list = statusFields().get("Cpus_allowed_list") ?? "0";
  const n = Number.parseInt(list, 10);
  return Number.isNaN(n) ? 0 : n;
}

function errnoCode(result: number): string {
  return errnoError(-result, "io_uring_setup").code;
}

export function probeIoUring(): IoUringProbe {
  const ctx = readSetupContext();
  const probe = native.uringProbe;
  const base = probe.setup(PROBE_ENTRIES, 0, 0, 0, 0);
  const available = base.result === 0;
  const setupFlags = {} as Record<SetupFlagName, boolean>;
  const refusedSetupFlags: Partial<Record<SetupFlagName, string>> = {};
  const cpu = firstAllowedCpu();
  for (const name of Object.keys(IORING_SETUP) as SetupFlagName[]) {
    let flags = IORING_SETUP[name];
    for (const need of SETUP_FLAG_NEEDS[name] ?? []) flags |= IORING_SETUP[need];
    const r = available
      ? probe.setup(PROBE_ENTRIES, flags, name === "CQSIZE" ? PROBE_ENTRIES * 4 : 0, cpu, SQ_THREAD_IDLE_MS)
      : base;
    setupFlags[name] = r.result === 0;
    if (r.result !== 0) refusedSetupFlags[name] = errnoCode(r.result);
  }
  let reason = available ? null : explainSetupError(-base.result, ctx);
  let opcodes: string[] = [];
  if (available) {
    const ops = probe.opcodes();
    if (typeof ops === "number") {
      reason = `the opcode probe failed: ${errnoError(-ops, "io_uring_register").message}`;
    } else {
      opcodes = ops.supported.map(opcodeName);
    }
  }
  return {
    available,
    reason,
    setupError: available ? null : errnoCode(base.result),
    sysctl: { io_uring_disabled: ctx.ioUringDisabled, io_uring_group: ctx.ioUringGroup },
    seccomp: { mode: ctx.seccompMode, filters: ctx.seccompFilters },
    opcodes,
    setupFlags,
    refusedSetupFlags,
    features: featureNames(base.features),
  };
}
