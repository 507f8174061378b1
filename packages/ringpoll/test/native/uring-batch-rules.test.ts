// The batch API's table is memory JS can write anything into: native code refuses every entry whose
// pointers the library cannot account for (issue 15 defect 6, issue 16 item 1). Columns are written
// directly here, as a user could, so the native checks are what is tested.
import { afterEach, expect, it } from "vitest";
import { BATCH_OPCODES, BATCH_SQE_FLAGS, IORING_OP, IOSQE_BUFFER_SELECT, SqeBatch, sys } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings, eachConfig } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(async () => {
  await rings.closeAll();
  fds.closeAll();
});

const IOSQE_CQE_SKIP_SUCCESS = 1 << 6;
const READV = 1;
const WRITEV = 2;

eachConfig("batch API rules", (options) => {
  /** A batch of two NOPs whose second entry `edit` then changes column by column. */
  function refused(ring: ReturnType<Rings["open"]>, edit: (b: SqeBatch) => void, code = "EINVAL"): void {
    const batch = new SqeBatch(2);
    batch.pushNops(2);
    edit(batch);
    let err: unknown;
    try {
      ring.queue(batch);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code, syscall: "io_uring queue" });
    expect((err as Error).message).not.toContain("\n");
    expect(ring.inflight).toBe(0); // nothing queued, not even the valid first entry
  }

  it("refuses opcodes that read pointers the library cannot account for (msghdr, sockaddr, timespec, iovec)", () => {
    const ring = rings.open(options);
    for (const op of [IORING_OP.SENDMSG, IORING_OP.RECVMSG, IORING_OP.TIMEOUT, IORING_OP.LINK_TIMEOUT, IORING_OP.CONNECT, READV, WRITEV, 255]) {
      expect(BATCH_OPCODES.has(op)).toBe(false);
      refused(ring, (b) => (b.opcode[1] = op));
    }
  });

  it("refuses IOSQE_CQE_SKIP_SUCCESS: a request that posts no CQE would stay in flight forever", () => {
    const ring = rings.open(options);
    expect(BATCH_SQE_FLAGS & IOSQE_CQE_SKIP_SUCCESS).toBe(0);
    refused(ring, (b) => (b.sqeFlags[1] = IOSQE_CQE_SKIP_SUCCESS));
  });

  it("refuses an off that is not a file position, and any off where the kernel reads a second address", () => {
    const ring = rings.open(options);
    ring.registerBuffers([Buffer.alloc(64)]);
    const read = (b: SqeBatch, off: number) => {
      b.opcode[1] = IORING_OP.READ;
      b.fd[1] = 0;
      b.off[1] = off;
    };
    for (const off of [NaN, Infinity, -Infinity, 2 ** 64, 1e300, 1.5, -2]) refused(ring, (b) => read(b, off));
    for (const op of [IORING_OP.ACCEPT, IORING_OP.SEND, IORING_OP.RECV, IORING_OP.NOP]) {
      refused(ring, (b) => {
        b.opcode[1] = op;
        b.off[1] = 0x7fff0000;
      });
    }
  });

  it("refuses lengths without a buffer, buffers for ops that take none, and buffer selection where it cannot apply", () => {
    const ring = rings.open(options);
    ring.registerBuffers([Buffer.alloc(64)]);
    refused(ring, (b) => {
      b.opcode[1] = IORING_OP.SEND; // bufIndex -1: address 0
      b.len[1] = 16;
    });
    refused(ring, (b) => {
      b.opcode[1] = IORING_OP.ACCEPT; // addr would be a sockaddr pointer
      b.bufIndex[1] = 0;
    });
    refused(ring, (b) => {
      b.opcode[1] = IORING_OP.WRITE;
      b.sqeFlags[1] = IOSQE_BUFFER_SELECT;
    });
    refused(ring, (b) => {
      b.opcode[1] = IORING_OP.READ_FIXED; // needs a registered buffer
      b.bufIndex[1] = -1;
    });
    refused(ring, (b) => (b.bufIndex[1] = -5));
    refused(ring, (b) => (b.bufGroup[1] = 3)); // a group without IOSQE_BUFFER_SELECT
    refused(ring, (b) => (b.tag[1] = 2 ** 31)); // lib/'s own tags
    refused(ring, (b) => {
      b.opcode[1] = IORING_OP.WRITE;
      b.bufIndex[1] = 0;
      b.bufOffset[1] = 60;
      b.len[1] = 8;
    }, "EFAULT");
  });

  it("allowed opcodes still run: write from a registered buffer, then read it back at a position", async () => {
    const ring = rings.open(options);
    const [r, w] = fds.pipe();
    const out = Buffer.from("batch!");
    const back = Buffer.alloc(6);
    ring.registerBuffers([out, back]);
    const batch = new SqeBatch(2);
    batch.push(IORING_OP.WRITE, w, 1, { bufIndex: 0, len: 6, off: -1 });
    batch.push(IORING_OP.READ, r, 2, { bufIndex: 1, len: 6, off: -1 });
    const results = new Map<number, number>();
    await new Promise<void>((resolve) => {
      ring.onCompletions((c) => {
        for (let i = 0; i < c.length; i++) results.set(c.tag[i]!, c.res[i]!);
        if (results.size === 2) resolve();
      });
      expect(ring.queue(batch)).toBe(2);
    });
    expect(results).toEqual(new Map([[1, 6], [2, 6]]));
    expect(back.toString()).toBe("batch!");
    expect(sys.read(r, Buffer.alloc(1))).toBe(null); // nothing else was written
  });
});
