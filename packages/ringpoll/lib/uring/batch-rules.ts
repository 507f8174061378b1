// What the batch API (SqeBatch + IoUring.queue) may hand the kernel. Written once, in
// native/ring_batch_rules.hpp; native code enforces it on every queue() and lib/ reads the same
// list from the addon to refuse bad entries early with a message that says which rule.
import { native } from "../native.js";

const rules = native.Ring.batchRules;

/** IORING_OP_* numbers the batch API accepts; any other opcode is refused with EINVAL. */
export const BATCH_OPCODES: ReadonlySet<number> = new Set(Object.keys(rules.ops).map(Number));

/** How an allowed opcode uses the SQE's fields (bits of batchRule()). */
export const BATCH_RULE = rules.rule;

/** IOSQE_* flags the batch API accepts (IOSQE_CQE_SKIP_SUCCESS is not one: no CQE, no accounting). */
export const BATCH_SQE_FLAGS = rules.sqeFlags;

/** Largest `off` accepted as a file position (-1 = the fd's current position). */
export const BATCH_MAX_POSITION = rules.maxPosition;

/** The rule bits of `opcode`, or undefined when the batch API refuses it. */
export function batchRule(opcode: number): number | undefined {
  return rules.ops[opcode];
}
