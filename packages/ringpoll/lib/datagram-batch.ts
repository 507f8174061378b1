// A batch of datagrams in caller-owned memory for sys.recvmmsg/sendmmsg: one buffer cut into
// `count` slots of `slotSize` bytes, a lengths array, the msg_flags of each datagram and,
// optionally, IPv4 addresses. Reuse it across calls: no allocation per datagram or per batch.
import { invalidArgType, invalidArgValue } from "./errors.js";
import * as validate from "./validate.js";

/** msg_flags bit: the datagram was longer than its slot; the rest of it was discarded. */
export const MSG_TRUNC = 0x20;
/** The kernel's limit on messages per recvmmsg/sendmmsg call (UIO_MAXIOV). */
export const MAX_BATCH = 1024;

export interface DatagramBatchOptions {
  /** Datagrams per call, 1 to 1024. */
  count: number;
  /** Bytes per slot: a longer datagram is cut to this size and counted in `truncated`. */
  slotSize: number;
  /**
   * Memory for the slots (at least count × slotSize bytes); allocated when omitted, over a
   * SharedArrayBuffer (which cannot be detached: Epoll's receive mode then looks it up once).
   */
  buffer?: Uint8Array;
  /** Length of each datagram (at least `count` entries); allocated (shared) when omitted. */
  lengths?: Uint32Array;
  /** Keep a source (recvmmsg) or destination (sendmmsg) IPv4 address per datagram. */
  addresses?: boolean;
}

export class DatagramBatch {
  readonly count: number;
  readonly slotSize: number;
  /** Slot i is bytes [i × slotSize, i × slotSize + lengths[i]). */
  readonly buffer: Uint8Array;
  /** Bytes of datagram i in its slot (never more than slotSize). */
  readonly lengths: Uint32Array;
  /** msg_flags of each received datagram (MSG_TRUNC when it was cut to slotSize). */
  readonly flags: Uint32Array;
  /** [address as a 32-bit number, port] per datagram, or null without `addresses: true`. */
  readonly addresses: Uint32Array | null;
  /** Datagrams in the batch: set by recvmmsg, by set(), or by the caller before sendmmsg. */
  length = 0;
  /** How many of the last recvmmsg's datagrams were longer than slotSize and were cut. */
  truncated = 0;

  constructor(options: DatagramBatchOptions) {
    validate.object("options", options);
    validate.knownKeys("options", options, ["count", "slotSize", "buffer", "lengths", "addresses"]);
    this.count = validate.integer("options.count", options.count, 1, MAX_BATCH);
    this.slotSize = validate.integer("options.slotSize", options.slotSize, 1, validate.INT32_MAX);
    const bytes = this.count * this.slotSize;
    if (options.buffer === undefined) this.buffer = new Uint8Array(new SharedArrayBuffer(bytes));
    else if (!(options.buffer instanceof Uint8Array)) throw invalidArgType("options.buffer", "Buffer or Uint8Array", options.buffer);
    else if (options.buffer.byteLength < bytes) {
      throw invalidArgValue("options.buffer", `buffer of at least ${bytes} bytes (count × slotSize)`, options.buffer);
    } else this.buffer = options.buffer;
    if (options.lengths === undefined) this.lengths = new Uint32Array(new SharedArrayBuffer(4 * this.count));
    else if (!(options.lengths instanceof Uint32Array)) throw invalidArgType("options.lengths", "Uint32Array", options.lengths);
    else if (options.lengths.length < this.count) {
      throw invalidArgValue("options.lengths", `Uint32Array of at least ${this.count} entries (count)`, options.lengths);
    } else this.lengths = options.lengths;
    const addresses = options.addresses === undefined ? false : validate.boolean("options.addresses", options.addresses);
    this.flags = new Uint32Array(new SharedArrayBuffer(4 * this.count));
    this.addresses = addresses ? new Uint32Array(new SharedArrayBuffer(8 * this.count)) : null;
  }

  /**
   * @internal Before each syscall: native code writes lengths, flags and addresses through these
   * views and the kernel fills the slots, so each must still span `count` entries. A transferred
   * ArrayBuffer (structuredClone/postMessage transfer, ArrayBuffer.prototype.transfer) leaves a
   * view of length 0.
   */
  checkMemory(): void {
    spans("batch.buffer", this.buffer, this.count * this.slotSize, "bytes (count × slotSize)");
    spans("batch.lengths", this.lengths, this.count, "entries (count)");
    spans("batch.flags", this.flags, this.count, "entries (count)");
    if (this.addresses !== null) spans("batch.addresses", this.addresses, 2 * this.count, "entries (2 × count)");
  }

  /** @internal All its memory is over SharedArrayBuffers: never detached, never moved. */
  get pinned(): boolean {
    const shared = (a: Uint8Array | Uint32Array | null): boolean => a === null || a.buffer instanceof SharedArrayBuffer;
    return shared(this.buffer) && shared(this.lengths) && shared(this.flags) && shared(this.addresses);
  }

  /** A view of datagram i (valid until the next recvmmsg overwrites its slot). */
  datagram(i: number): Uint8Array {
    const at = this.#index(i) * this.slotSize;
    return this.buffer.subarray(at, at + this.lengths[i]!);
  }

  /** Copy `data` into slot i and set its length, for sendmmsg (length grows to include i). */
  set(i: number, data: Uint8Array): void {
    this.#index(i);
    validate.bytes("data", data);
    if (data.byteLength > this.slotSize) throw invalidArgValue("data", `at most ${this.slotSize} bytes (slotSize)`, data);
    this.buffer.set(data, i * this.slotSize);
    this.lengths[i] = data.byteLength;
    if (this.length <= i) this.length = i + 1;
  }

  /** Source port of datagram i (recvmmsg), or the destination port set for it. */
  port(i: number): number {
    return this.#addresses()[2 * this.#index(i) + 1]!;
  }

  /** Source IPv4 address of datagram i (recvmmsg), or the destination set for it. */
  host(i: number): string {
    const a = this.#addresses()[2 * this.#index(i)]!;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  }

  /** Where sendmmsg sends datagram i. */
  setAddress(i: number, port: number, host: string): void {
    const a = this.#addresses();
    a[2 * this.#index(i)] = parseIPv4(host);
    a[2 * i + 1] = validate.integer("port", port, 0, 65535);
  }

  #index(i: number): number {
    return validate.integer("index", i, 0, this.count - 1);
  }

  #addresses(): Uint32Array {
    if (this.addresses === null) throw invalidArgValue("options.addresses", "true when the batch was made, to use addresses", false);
    return this.addresses;
  }
}

function spans(name: string, view: Uint8Array | Uint32Array, min: number, unit: string): void {
  if (view.length < min) throw invalidArgValue(name, `${view.constructor.name} of at least ${min} ${unit}`, view);
}

function parseIPv4(host: string): number {
  if (typeof host !== "string") throw invalidArgType("host", "IPv4 address string", host);
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw invalidArgValue("host", "IPv4 address string", host);
  }
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}
