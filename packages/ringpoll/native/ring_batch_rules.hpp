// What the batch API (SqeBatch → Ring::PrepBatch) may hand the kernel. Its table is public memory
// JS can write anything into, so only opcodes whose every pointer the library can account for are
// allowed: data comes from a registered buffer (pinned until unregistered and nothing is in flight)
// or from a provided buffer ring (buffer selection); no opcode that reads a pointer from addr/off
// (msghdr, sockaddr, timespec, iovec) is listed. Exported to JS as Ring.batchRules, so lib/ checks
// the same list (written once, here).
#pragma once
#include <cstdint>

#include "uring_compat.hpp"

namespace batch_rules {

// How an opcode uses the SQE's fields.
enum Rule : uint8_t {
  kData = 1,      // addr/len: bytes in a registered buffer (bufIndex >= 0), or none (bufIndex -1, len 0)
  kFixed = 2,     // bufIndex is required and goes to sqe->buf_index (READ_FIXED / WRITE_FIXED)
  kSelect = 4,    // may select a provided buffer (IOSQE_BUFFER_SELECT + bufGroup; len = its maximum)
  kPosition = 8,  // off is a file position: an integer from -1 (current position) to 2^53
  kLenValue = 16  // len is a number the kernel interprets (poll flags, fsync range), not a byte count
};

struct Op {
  uint8_t opcode;
  uint8_t rules;
};

// Everything else is refused with EINVAL.
constexpr Op kOps[] = {
    {IORING_OP_NOP, 0},
    {IORING_OP_READ, kData | kSelect | kPosition},
    {IORING_OP_WRITE, kData | kPosition},
    {IORING_OP_READ_FIXED, kData | kFixed | kPosition},
    {IORING_OP_WRITE_FIXED, kData | kFixed | kPosition},
    {IORING_OP_SEND, kData},
    {IORING_OP_RECV, kData | kSelect},
    {IORING_OP_ACCEPT, 0},  // no peer address: addr and off (an addrlen pointer) stay 0
    {IORING_OP_POLL_ADD, kLenValue},
    {IORING_OP_FSYNC, kPosition | kLenValue},
    // keyed by fd (IORING_ASYNC_CANCEL_FD) or by a user_data value, never a pointer; len is the
    // opcode to match with IORING_ASYNC_CANCEL_OP
    {IORING_OP_ASYNC_CANCEL, kLenValue},
};

// IOSQE_CQE_SKIP_SUCCESS (1 << 6) is refused: a request that posts no CQE would stay in flight
// forever (and keep its memory and the loop alive).
constexpr uint8_t kSqeFlags = IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | IOSQE_IO_HARDLINK |
                              IOSQE_ASYNC | IOSQE_BUFFER_SELECT;

// Largest file position accepted (2^53: every integer up to it is exact in a double).
constexpr double kMaxPosition = 9007199254740992.0;

inline int RulesOf(uint8_t opcode) {
  for (const Op& op : kOps) {
    if (op.opcode == opcode) return op.rules;
  }
  return -1;
}

}  // namespace batch_rules
