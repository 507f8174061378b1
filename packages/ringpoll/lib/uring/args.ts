// Argument types and validation shared by every op.
import { IOSQE_FIXED_FILE } from "../uring-constants.js";
import * as validate from "../validate.js";

export interface OpOptions {
  /** Cancel the request (IORING_OP_ASYNC_CANCEL); the Promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Linked timeout (IOSQE_IO_LINK + IORING_OP_LINK_TIMEOUT): the Promise rejects with ETIMEDOUT. */
  timeoutMs?: number;
}

export interface RwOptions extends OpOptions {
  /** file position; -1 (default) = the fd's current position */
  position?: number;
  /** start in the buffer (default 0) */
  offset?: number;
  /** bytes (default: the rest of the buffer) */
  length?: number;
}

// Option keys each kind of op takes; any other key is refused (a typo would silently do nothing).
export const OP_KEYS = ["signal", "timeoutMs"] as const;
export const RANGE_KEYS = [...OP_KEYS, "offset", "length"] as const;
export const RW_KEYS = [...RANGE_KEYS, "position"] as const;

/** Refuses an options object that is not one or has keys outside `keys`. */
export function optionsArg(options: object | undefined, keys: readonly string[]): void {
  if (options !== undefined) validate.options("options", options, keys);
}

/** A registered file: pass `{ fixed: index }` as the fd (IOSQE_FIXED_FILE). */
export interface FixedFile {
  fixed: number;
}
export type Fd = number | FixedFile;

/** [fd or registered-file index, IOSQE_FIXED_FILE or 0] */
export function fdArg(fd: Fd, name = "fd"): [number, number] {
  if (typeof fd === "object" && fd !== null) {
    return [validate.integer(`${name}.fixed`, fd.fixed, 0, validate.INT32_MAX, "non-negative integer"), IOSQE_FIXED_FILE];
  }
  return [validate.fd(name, fd), 0];
}

/**
 * [offset, length] in `buffer`. A detached buffer is refused: it has no memory, and the op would
 * quietly transfer nothing. Zero bytes are allowed, as POSIX allows them, because every op that
 * takes a buffer gives them a meaning: read/readFixed resolve 0 (or the fd's error), write/send/
 * sendmsg on a datagram socket send an empty datagram, recv/recvmsg take one datagram off the
 * socket (recvmsg says `truncated`; recv with MSG_TRUNC gives its length). What cannot mean
 * anything is refused where it is made: an empty registered buffer, buffer-ring buffer or
 * DatagramBatch slot.
 */
export function rangeArg(buffer: Uint8Array, options: RwOptions | undefined, name = "buffer"): [number, number] {
  validate.bytes(name, buffer);
  const offset = options?.offset === undefined ? 0 : validate.integer("options.offset", options.offset, 0, buffer.byteLength, `integer between 0 and ${buffer.byteLength}`);
  const max = buffer.byteLength - offset;
  const length = options?.length === undefined ? max : validate.integer("options.length", options.length, 0, max, `integer between 0 and ${max}`);
  return [offset, length];
}

export function positionArg(options: RwOptions | undefined): number {
  return options?.position === undefined ? -1 : validate.integer("options.position", options.position, -1, Number.MAX_SAFE_INTEGER, "integer >= -1");
}
