export {
  Epoll,
  EpollBatch,
  type EpollOptions,
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
