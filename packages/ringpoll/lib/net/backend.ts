// What a server's connections run on: an io_uring or an epoll backend behind one interface. The
// Duplex sockets and the batch handler are both built on it.

/** Calls from a backend to its server, in batches: begin…end around each batch of completions. */
export interface BackendEvents {
  /** A connection was accepted; return false to refuse it (the backend closes it). */
  accept(id: number): boolean;
  /** Bytes received on `id`; `data` is valid until batchEnd() returns (copy what you keep). */
  data(id: number, data: Buffer): void;
  /** The peer shut its write side down (end of stream). */
  end(id: number): void;
  /** Receiving failed (ECONNRESET, …). */
  error(id: number, err: Error): void;
  /** After a batch of completions (views of this batch die when this returns). */
  batchEnd(): void;
  /** The listening socket failed to accept (EMFILE, …): the server reports it. */
  acceptError(err: Error): void;
}

export type BackendName = "io_uring" | "epoll";

export interface Backend {
  readonly name: BackendName;
  /** Start accepting on a listening, nonblocking socket; the backend closes it in stopAccept(). */
  startAccept(listenFd: number): void;
  /** Stop accepting and close the listening socket. */
  stopAccept(): void;
  /** The connection's fd (valid until close() called back). */
  fd(id: number): number;
  /** Stop receiving on `id` (the reader is full): no receive is re-armed until resume(). */
  pause(id: number): void;
  resume(id: number): void;
  /**
   * Send all of `data`; `cb` runs when the kernel has taken the last byte (partial sends continue)
   * or with the error that stopped it. `data` must not change until then.
   */
  send(id: number, data: Uint8Array, cb: (err: Error | null) => void): void;
  /** Send `chunks` in order as if one buffer (one vectored send, no copy); `cb` as for send(). */
  sendv(id: number, chunks: readonly Uint8Array[], cb: (err: Error | null) => void): void;
  /** Send syscalls or SQEs made so far (queued sends of a connection go out in one, vectored). */
  readonly sendCalls: number;
  /** True while sends on `id` are queued or in flight. */
  sendsPending(id: number): boolean;
  /** True once the peer's end of stream arrived (every byte before it received) or receiving failed. */
  peerEnded(id: number): boolean;
  /** Shut the write side down (after every send called back). */
  shutdown(id: number): Error | null;
  /** Cancel everything on `id`, wait for the kernel to hand back every buffer, close the fd, then `cb`. */
  close(id: number, cb: () => void): void;
  /** Keep the event loop alive while accepting or connections are open (default) or not. */
  setRef(ref: boolean): void;
  /** Release the ring / epoll (no listener, no connections left). */
  destroy(): void;
}
