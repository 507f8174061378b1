export {
  Epoll,
  EpollBatch,
  type EpollOptions,
  type EpollStats,
  type StartOptions,
  type BatchesOptions,
  EPOLLIN,
  EPOLLPRI,
  EPOLLOUT,
  EPOLLERR,
  EPOLLHUP,
  EPOLLRDHUP,
  EPOLLEXCLUSIVE,
  EPOLLONESHOT,
  EPOLLET,
} from "./epoll.js";
export { probe, type ProbeResult, type CpuInfo } from "./probe.js";
export {
  explainSetupError,
  setupErrorCause,
  readSetupContext,
  IORING_SETUP,
  type IoUringProbe,
  type SetupContext,
  type SetupFlagName,
} from "./uring-probe.js";
export { errnoError, type RingpollSystemError, type CodedError } from "./errors.js";
export * as sys from "./sys.js";
export { IoUring, type IoUringStats, type CoalesceOptions, type RecvBatchesOptions, type ReceivedMessage } from "./uring/io-uring.js";
export { RecvBatch, RecvBatches } from "./uring-recv-batch.js";
export { type IoUringOptions, type IoUringSetup } from "./uring/setup.js";
export { type OpOptions, type RwOptions, type Fd, type FixedFile } from "./uring/args.js";
export { SqeBatch, CqeBatch, type SqeFields } from "./uring-batch.js";
export { BATCH_OPCODES, BATCH_SQE_FLAGS } from "./uring/batch-rules.js";
export { BufferRing, type BufferRingOptions } from "./buffer-ring.js";
export { MultishotIterator, type Lease, type Message } from "./uring-multishot.js";
export { alignedBuffer } from "./aligned.js";
export { blockDeviceOf, type BlockDevice } from "./uring-iopoll.js";
export {
  IORING_OP,
  IOSQE_FIXED_FILE,
  IOSQE_IO_LINK,
  IOSQE_BUFFER_SELECT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  IORING_CQE_BUFFER_SHIFT,
  IORING_RECV_MULTISHOT,
  IORING_ACCEPT_MULTISHOT,
} from "./uring-constants.js";
