import { native } from "./native.js";
import { errnoError, invalidArgValue } from "./errors.js";
import * as validate from "./validate.js";

/** A zero-filled Buffer whose memory starts at a multiple of `alignment` (for O_DIRECT I/O). */
export function alignedBuffer(size: number, alignment = 4096): Buffer {
  validate.integer("size", size, 0, 2 ** 31 - 1, "non-negative integer");
  validate.integer("alignment", alignment, 1, 1 << 30, "power of two");
  if ((alignment & (alignment - 1)) !== 0 || alignment < 8) throw invalidArgValue("alignment", "power of two >= 8", alignment);
  const memory = native.memory.alignedBuffer(size, alignment);
  if (typeof memory === "number") throw errnoError(-memory, "posix_memalign");
  return Buffer.from(memory, 0, size);
}
