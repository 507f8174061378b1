// Errors shaped like Node's own: SystemError-like objects with code/errno/syscall, and
// ERR_INVALID_ARG_* for arguments rejected before any syscall.
import { getSystemErrorMap, types } from "node:util";
import { isDetached } from "./detached.js";

const systemErrors = getSystemErrorMap();

export interface RingpollSystemError extends Error {
  /** errno name, e.g. 'EBADF' */
  code: string;
  /** negative errno, as Node reports it (-9 for EBADF) */
  errno: number;
  /** the failing call, e.g. 'epoll_ctl' or 'io_uring recv' */
  syscall: string;
}

/** Builds an error from a positive errno value. `detail` explains the cause when the errno alone does not. */
export function errnoError(errno: number, syscall: string, detail?: string): RingpollSystemError {
  let [code, description] = systemErrors.get(-errno) ?? [`Unknown system error ${errno}`, "unknown error"];
  // Linux has one errno 95 with two names; the kernel and its docs say EOPNOTSUPP.
  if (errno === 95) [code, description] = ["EOPNOTSUPP", "operation not supported"];
  const message = `${syscall} ${code}: ${description}${detail ? ` (${detail})` : ""}`;
  const err = new Error(message) as RingpollSystemError;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  Error.captureStackTrace(err, errnoError);
  return err;
}

export interface CodedError extends Error {
  code: string;
}

function coded<T extends Error>(err: T, code: string): T & CodedError {
  return Object.assign(err, { code });
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) {
    const length = types.isDataView(value) ? value.byteLength : (value as unknown as { length: number }).length;
    return `${value.constructor.name}(${length})${isDetached(value) ? " whose ArrayBuffer was detached (transferred)" : ""}`;
  }
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "<anonymous>"}`;
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

/** "Expected <expected> for <name> but received <value>" — the one message shape of lib/. */
export function invalidArgValue(name: string, expected: string, value: unknown): RangeError & CodedError {
  return coded(new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`), "ERR_INVALID_ARG_VALUE");
}

export function invalidArgType(name: string, expected: string, value: unknown): TypeError & CodedError {
  const type = value === null ? "null" : typeof value;
  return coded(
    new TypeError(`Expected ${expected} for ${name} but received ${describe(value)} of type ${type}`),
    "ERR_INVALID_ARG_TYPE",
  );
}

export function closedError(what: string): Error & CodedError {
  return coded(new Error(`${what} is closed`), "ERR_RINGPOLL_CLOSED");
}

export function stateError(message: string): Error & CodedError {
  return coded(new Error(message), "ERR_RINGPOLL_INVALID_STATE");
}

export function abortError(signal: AbortSignal): DOMException | Error {
  const err = new Error("The operation was aborted", { cause: signal.reason });
  err.name = "AbortError";
  return coded(err, "ABORT_ERR");
}
