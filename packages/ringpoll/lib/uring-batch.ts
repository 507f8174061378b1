// The low-level batch API: SQEs described in typed arrays and queued in one native call; CQEs
// handed over as typed-array views. No Promise or object per operation.
import { IORING_OP, IOSQE_BUFFER_SELECT, TRACKED } from "./uring-constants.js";
import { invalidArgValue, stateError } from "./errors.js";
import { BATCH_OPCODES, BATCH_RULE, BATCH_SQE_FLAGS, batchRule } from "./uring/batch-rules.js";
import { opcodeName } from "./uring-probe.js";
import * as validate from "./validate.js";

const FIELDS = ["bufIndex", "bufOffset", "len", "off", "opFlags", "sqeFlags", "bufGroup", "ioprio"] as const;

export interface SqeFields {
  /** registered buffer index (registerBuffers) for the data, or -1 */
  bufIndex?: number;
  /** offset in that registered buffer */
  bufOffset?: number;
  len?: number;
  /** file position; -1 = current position */
  off?: number;
  /** op-specific flags (msg_flags, poll mask, fsync flags, …) */
  opFlags?: number;
  /** IOSQE_* flags */
  sqeFlags?: number;
  /** buffer group for IOSQE_BUFFER_SELECT (a BufferRing's bgid) */
  bufGroup?: number;
  /** sqe->ioprio: IORING_RECV_MULTISHOT / IORING_ACCEPT_MULTISHOT for multishot requests */
  ioprio?: number;
}

/**
 * A table of SQEs to queue with IoUring.queue(). Reuse it: clear() and fill again. The columns
 * share one buffer (native/ring.cpp PrepBatch reads it with the same layout), so queueing costs one
 * boundary crossing whatever the count.
 */
export class SqeBatch {
  readonly capacity: number;
  length = 0;
  /** @internal every column, in one buffer: 38 bytes per SQE */
  readonly table: Uint8Array;
  readonly opcode: Uint8Array;
  readonly fd: Int32Array;
  readonly bufIndex: Int32Array;
  readonly bufOffset: Uint32Array;
  readonly len: Uint32Array;
  readonly off: Float64Array;
  readonly opFlags: Uint32Array;
  readonly sqeFlags: Uint8Array;
  readonly bufGroup: Uint16Array;
  readonly ioprio: Uint16Array;
  readonly tag: Uint32Array;

  constructor(capacity: number) {
    this.capacity = validate.integer("capacity", capacity, 1, 1 << 20);
    const c = capacity;
    const buf = new SharedArrayBuffer(38 * c);
    this.table = new Uint8Array(buf);
    this.off = new Float64Array(buf, 0, c);
    this.fd = new Int32Array(buf, 8 * c, c);
    this.bufIndex = new Int32Array(buf, 12 * c, c);
    this.bufOffset = new Uint32Array(buf, 16 * c, c);
    this.len = new Uint32Array(buf, 20 * c, c);
    this.opFlags = new Uint32Array(buf, 24 * c, c);
    this.tag = new Uint32Array(buf, 28 * c, c);
    this.bufGroup = new Uint16Array(buf, 32 * c, c);
    this.ioprio = new Uint16Array(buf, 34 * c, c);
    this.opcode = new Uint8Array(buf, 36 * c, c);
    this.sqeFlags = new Uint8Array(buf, 37 * c, c);
  }

  /**
   * Append one SQE; `tag` (below 2^31) comes back in the CQE. Returns its index. `fd` is a
   * registered-file index with IOSQE_FIXED_FILE in `sqeFlags`, -1 for requests without one.
   */
  push(opcode: number, fd: number, tag: number, fields: SqeFields = {}): number {
    if (this.length === this.capacity) throw stateError(`SqeBatch is full (capacity ${this.capacity}): queue() it and clear() first`);
    const rule = batchRule(validate.integer("opcode", opcode, 0, 255));
    if (rule === undefined) throw invalidArgValue("opcode", `an opcode the batch API allows (${ALLOWED})`, opcode);
    validate.integer("fd", fd, -1, validate.INT32_MAX, "fd, fixed-file index or -1");
    validate.integer("tag", tag, 0, TRACKED - 1);
    validate.object("fields", fields);
    validate.knownKeys("fields", fields, FIELDS);
    const bufIndex = fields.bufIndex === undefined ? -1 : validate.integer("fields.bufIndex", fields.bufIndex, -1, 65535);
    const bufOffset = fields.bufOffset === undefined ? 0 : validate.uint32("fields.bufOffset", fields.bufOffset);
    const len = fields.len === undefined ? 0 : validate.uint32("fields.len", fields.len);
    const off = fields.off === undefined ? 0 : validate.integer("fields.off", fields.off, -1, Number.MAX_SAFE_INTEGER, "file position or -1");
    const opFlags = fields.opFlags === undefined ? 0 : validate.mask("fields.opFlags", fields.opFlags);
    const sqeFlags = fields.sqeFlags === undefined ? 0 : validate.integer("fields.sqeFlags", fields.sqeFlags, 0, 255, "IOSQE_* flag mask");
    const bufGroup = fields.bufGroup === undefined ? -1 : validate.integer("fields.bufGroup", fields.bufGroup, 0, 65535);
    const ioprio = fields.ioprio === undefined ? 0 : validate.integer("fields.ioprio", fields.ioprio, 0, 65535);
    // The kernel reads both from one field (sqe->buf_index / buf_group).
    if (bufGroup >= 0 && bufIndex >= 0) throw invalidArgValue("fields.bufGroup", "no bufGroup together with bufIndex", bufGroup);
    checkRule(rule, opcode, { bufIndex, bufOffset, len, off, sqeFlags, bufGroup });
    const i = this.length++;
    this.opcode[i] = opcode;
    this.fd[i] = fd;
    this.bufIndex[i] = bufIndex;
    this.bufOffset[i] = bufOffset;
    this.len[i] = len;
    this.off[i] = off;
    this.opFlags[i] = opFlags;
    this.sqeFlags[i] = sqeFlags | (bufGroup >= 0 ? IOSQE_BUFFER_SELECT : 0);
    this.bufGroup[i] = bufGroup >= 0 ? bufGroup : 0;
    this.ioprio[i] = ioprio;
    this.tag[i] = tag;
    return i;
  }

  /** Append `count` NOPs tagged tag0, tag0+1, … */
  pushNops(count: number, tag0 = 0): void {
    for (let i = 0; i < count; i++) this.push(IORING_OP.NOP, -1, tag0 + i);
  }

  clear(): void {
    this.length = 0;
  }
}

const ALLOWED = [...BATCH_OPCODES].map(opcodeName).join(", ");

/** The fields `opcode` takes, as native/ring_batch_rules.hpp says (PrepBatch checks the same). */
function checkRule(rule: number, opcode: number, f: Required<Omit<SqeFields, "opFlags" | "ioprio">>): void {
  const op = opcodeName(opcode);
  if ((f.sqeFlags & ~BATCH_SQE_FLAGS) !== 0) throw invalidArgValue("fields.sqeFlags", "IOSQE_* flags in BATCH_SQE_FLAGS", f.sqeFlags);
  const select = f.bufGroup >= 0 || (f.sqeFlags & IOSQE_BUFFER_SELECT) !== 0;
  if (select && (rule & BATCH_RULE.select) === 0) throw invalidArgValue("fields.bufGroup", `none: ${op} selects no buffer`, f.bufGroup);
  if (f.bufIndex >= 0 && (rule & BATCH_RULE.data) === 0) throw invalidArgValue("fields.bufIndex", `-1: ${op} takes no data`, f.bufIndex);
  if (f.bufIndex < 0 && (rule & BATCH_RULE.fixed) !== 0) throw invalidArgValue("fields.bufIndex", `a registered buffer index for ${op}`, f.bufIndex);
  if (f.bufIndex < 0 && f.bufOffset !== 0) throw invalidArgValue("fields.bufOffset", "0 without bufIndex", f.bufOffset);
  if (f.bufIndex < 0 && !select && (rule & BATCH_RULE.lenValue) === 0 && f.len !== 0) {
    throw invalidArgValue("fields.len", "0 without bufIndex or bufGroup (no memory for the kernel)", f.len);
  }
  if ((rule & BATCH_RULE.position) === 0 && f.off !== 0) throw invalidArgValue("fields.off", `0: ${op} takes no file position`, f.off);
}

/** CQEs reaped in one pass; views valid until the callback returns (or the next reap()). */
export class CqeBatch {
  constructor(
    readonly length: number,
    /** user tag of each CQE (tags >= 2^31 belong to lib/'s own requests) */
    readonly tag: Uint32Array,
    /** result: >= 0 success, negative errno on failure */
    readonly res: Int32Array,
    /** IORING_CQE_F_* (buffer id in the upper 16 bits when F_BUFFER) */
    readonly flags: Uint32Array,
  ) {}
}
