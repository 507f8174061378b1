// What both backends keep per connection: a table of ids (reused once a connection is gone), the
// sends queued in order, and a write-side shutdown that waits for them.
import * as sys from "../sys.js";

/** at most this many queued sends of a connection go out in one vectored send (the rest follow it) */
export const SENDV_MAX = 64;

export interface Send {
  data: Uint8Array;
  offset: number;
  cb: (err: Error | null) => void;
  /** io_uring: the provided buffer `data` is a view of, held out of the ring until the send ends (-1: none) */
  bid?: number;
}

/**
 * A send that covered the first `n` of `sends` took `bytes`: returns how many of them the kernel
 * took whole, and moves the offset of the one it stopped in to the byte where it stopped.
 */
export function taken(sends: readonly Send[], n: number, bytes: number): number {
  let done = 0;
  for (let left = bytes; done < n; done++) {
    const s = sends[done]!;
    const rest = s.data.byteLength - s.offset;
    if (left < rest) {
      s.offset += left;
      break;
    }
    left -= rest;
  }
  return done;
}

export interface BaseConn {
  fd: number;
  /** sends in order; the first one is being sent */
  sends: Send[];
  /** shutdown(SHUT_WR) once the last send has completed */
  shutdownPending: boolean;
  /** no more receives: the peer's end of stream arrived, or receiving failed */
  eof: boolean;
}

export abstract class Connections<C extends BaseConn> {
  protected readonly conns: Array<C | undefined> = [];
  readonly #free: number[] = [];
  /** the listening socket (-1: none) */
  protected listenFd = -1;
  #destroying = false;

  protected add(c: C): number {
    const id = this.#free.length > 0 ? this.#free.pop()! : this.conns.length;
    this.conns[id] = c;
    return id;
  }

  protected remove(id: number): void {
    this.conns[id] = undefined;
    this.#free.push(id);
  }

  protected get openCount(): number {
    return this.conns.length - this.#free.length;
  }

  protected conn(id: number): C {
    const c = this.conns[id];
    if (c === undefined) throw new RangeError(`no connection ${id}`);
    return c;
  }

  fd(id: number): number {
    return this.conn(id).fd;
  }

  /** True while a send is in flight (the backend's own notion). */
  protected abstract busy(c: C): boolean;

  sendsPending(id: number): boolean {
    const c = this.conn(id);
    return this.busy(c) || c.sends.length > 0;
  }

  peerEnded(id: number): boolean {
    return this.conn(id).eof;
  }

  shutdown(id: number): Error | null {
    const c = this.conn(id);
    if (this.sendsPending(id)) {
      c.shutdownPending = true;
      return null;
    }
    return this.shutdownNow(c);
  }

  protected shutdownNow(c: C): Error | null {
    c.shutdownPending = false;
    try {
      sys.shutdown(c.fd, 1);
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /** Close a connection's fd; errors are of no use to anyone here. */
  protected closeFd(fd: number): void {
    try {
      sys.close(fd);
    } catch {
      // the connection is gone either way
    }
  }

  /** Release the ring / epoll: now, or once the listener and the last connection are closed. */
  destroy(): void {
    this.#destroying = true;
    this.maybeDestroy();
  }

  protected maybeDestroy(): void {
    if (!this.#destroying || this.listenFd >= 0 || this.openCount > 0) return;
    this.#destroying = false;
    this.release();
  }

  protected abstract release(): void;
}
