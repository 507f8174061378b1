// The batch handler: for hot paths that skip the streams. One call per batch of completions with
// every (connection, bytes) pair of that batch; sends are queued per connection and go to the
// kernel in the loop's one submit.
import * as validate from "../validate.js";

/** What one batch received: `conn[i]` got `data[i]`. Views valid only until the call returns. */
export class DataBatch {
  length = 0;
  conn = new Uint32Array(64);
  readonly data: Buffer[] = [];

  /** @internal */
  add(conn: number, data: Buffer): void {
    if (this.length === this.conn.length) {
      const grown = new Uint32Array(this.conn.length * 2);
      grown.set(this.conn);
      this.conn = grown;
    }
    this.conn[this.length] = conn;
    this.data[this.length++] = data;
  }

  /** @internal */
  clear(): void {
    this.length = 0;
    this.data.length = 0;
  }
}

export interface BatchHandler {
  /** The received bytes of one batch (copy what you keep: the views are reused after the call). */
  data(batch: DataBatch): void;
  /** A new connection (its id is reused after close). */
  open?(conn: number): void;
  /** The peer ended its side. Default: server.end(conn). */
  end?(conn: number): void;
  /** The connection is closed (`err` when receiving or sending failed). */
  close?(conn: number, err: Error | null): void;
}

export function batchHandler(value: unknown): BatchHandler {
  const h = validate.object<BatchHandler>("options.batch", value);
  validate.knownKeys("options.batch", h, ["data", "open", "end", "close"]);
  validate.func("options.batch.data", h.data);
  for (const k of ["open", "end", "close"] as const) if (h[k] !== undefined) validate.func(`options.batch.${k}`, h[k]);
  return h;
}
