import { constants } from "node:os";

// io_uring uapi numbers lib/ uses (include/uapi/linux/io_uring.h).
export const IORING_OP = {
  NOP: 0,
  FSYNC: 3,
  READ_FIXED: 4,
  WRITE_FIXED: 5,
  POLL_ADD: 6,
  SENDMSG: 9,
  RECVMSG: 10,
  TIMEOUT: 11,
  ACCEPT: 13,
  ASYNC_CANCEL: 14,
  LINK_TIMEOUT: 15,
  CONNECT: 16,
  READ: 22,
  WRITE: 23,
  SEND: 26,
  RECV: 27,
} as const;

export const IOSQE_FIXED_FILE = 1 << 0;
export const IOSQE_IO_LINK = 1 << 2;
export const IOSQE_BUFFER_SELECT = 1 << 5;

export const IORING_CQE_F_BUFFER = 1 << 0;
/** more CQEs will follow for this (multishot) request */
export const IORING_CQE_F_MORE = 1 << 1;
export const IORING_CQE_BUFFER_SHIFT = 16;

export const IORING_FSYNC_DATASYNC = 1 << 0;
export const IORING_ASYNC_CANCEL_ALL = 1 << 0;
export const IORING_ASYNC_CANCEL_FD = 1 << 1;
export const IORING_ASYNC_CANCEL_ANY = 1 << 2;
export const IORING_RECV_MULTISHOT = 1 << 1;
/** a receive may fill several provided buffers, one CQE for all (Linux 6.10: IORING_FEAT_RECVSEND_BUNDLE) */
export const IORING_RECVSEND_BUNDLE = 1 << 4;
export const IORING_ACCEPT_MULTISHOT = 1 << 0;

// Which memory the native prep builds for the kernel (native/ring.cpp: enum Extra).
export const EXTRA = { none: 0, sockaddr: 1, msgSend: 2, msgRecv: 3, timespec: 4, userData: 5, accept: 6 } as const;

/** Tags with this bit are requests lib/ tracks; the batch API uses tags below it. */
export const TRACKED = 0x80000000;

// errno values of this platform, as Node knows them.
export const errno = constants.errno;
