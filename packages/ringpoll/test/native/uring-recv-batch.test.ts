import { randomBytes } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import { sys, type RecvBatch } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings, eachConfig, lacks } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(async () => {
  await rings.closeAll();
  fds.closeAll();
});

interface Got {
  data: Buffer;
  source: number;
  truncated: number;
  address?: string;
  port?: number;
}

/** Copies of every datagram in a batch (the views die with the step). */
function copy(batch: RecvBatch, addresses = false): Got[] {
  const out: Got[] = [];
  for (let i = 0; i < batch.length; i++) {
    const g: Got = { data: Buffer.from(batch.data(i)), source: batch.sources[i]!, truncated: batch.truncated[i]! };
    expect(batch.data(i).buffer).toBe(batch.buffer.buffer); // a view into the buffer ring, not a copy
    if (addresses) {
      g.address = batch.address(i);
      g.port = batch.port(i);
    }
    out.push(g);
  }
  return out;
}

/** Sends `count` random payloads of 1..maxLen bytes from each sender to `port`, interleaved. */
function sendFlows(senders: number[], port: number, count: number, maxLen: number): Buffer[][] {
  const sent: Buffer[][] = senders.map(() => []);
  for (let i = 0; i < count; i++) {
    senders.forEach((fd, s) => {
      const payload = randomBytes(1 + ((i * 7 + s * 13) % maxLen));
      expect(sys.sendto(fd, payload, port)).toBe(payload.length);
      sent[s]!.push(payload);
    });
  }
  return sent;
}

/** Waits (at most 10 s) for `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(done()).toBe(true);
}

eachConfig(
  "recvBatches",
  (options) => {
    it("delivers every datagram of several flows, byte-exact and in order per flow, with its sender", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const senders = [fds.udp(), fds.udp(), fds.udp()];
      const br = ring.createBufferRing({ count: 64, size: 512 });
      const sent = sendFlows(senders.map((s) => s.fd), rx.port, 40, 500);
      const byPort = new Map(senders.map((s, i) => [s.port, [] as Buffer[]] as const).map(([p, l], i) => [p, { i, l }]));
      let total = 0;
      for await (const batch of ring.recvBatches(rx.fd, br, { addresses: true })) {
        expect(batch.length).toBeGreaterThan(0);
        for (const g of copy(batch, true)) {
          expect(g.address).toBe("127.0.0.1");
          expect(g.source).toBe(0);
          expect(g.truncated).toBe(0);
          byPort.get(g.port!)!.l.push(g.data);
          total++;
        }
        if (total === 120) break;
      }
      for (const [, { i, l }] of byPort) expect(l).toEqual(sent[i]);
    });

    it("receives from several sockets at once: sources name the socket, one step per completion pass", async () => {
      const ring = rings.open(options);
      const rxs = [fds.udp(), fds.udp(), fds.udp(), fds.udp()];
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 128, size: 256 });
      const sent: Buffer[][] = rxs.map(() => []);
      for (let i = 0; i < 25; i++) {
        rxs.forEach((r, k) => {
          const p = randomBytes(1 + ((i + k) % 200));
          sys.sendto(tx.fd, p, r.port);
          sent[k]!.push(p);
        });
      }
      const got: Buffer[][] = rxs.map(() => []);
      let steps = 0;
      for await (const batch of ring.recvBatches(rxs.map((r) => r.fd), br)) {
        steps++;
        for (const g of copy(batch)) got[g.source]!.push(g.data);
        if (got.flat().length === 100) break;
      }
      expect(got).toEqual(sent);
      expect(steps).toBeLessThan(100); // batches, not one step per datagram
      expect(steps).toBeLessThanOrEqual(ring.stats.calls);
    });

    it("reports truncation: a datagram longer than its buffer keeps what fitted and is flagged", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 8, size: 64 });
      const long = randomBytes(200);
      const short = randomBytes(64);
      sys.sendto(tx.fd, long, rx.port);
      sys.sendto(tx.fd, short, rx.port);
      const got: Got[] = [];
      for await (const batch of ring.recvBatches(rx.fd, br)) {
        got.push(...copy(batch));
        if (got.length === 2) break;
      }
      expect(got.map((g) => g.truncated)).toEqual([1, 0]);
      expect(got[0]!.data).toEqual(long.subarray(0, 64));
      expect(got[1]!.data).toEqual(short);
    });

    it("reports truncation with addresses: true (the kernel's MSG_TRUNC in io_uring_recvmsg_out)", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      // 16 bytes of io_uring_recvmsg_out and 16 of sockaddr_in leave 32 for the payload.
      const br = ring.createBufferRing({ count: 8, size: 64 });
      const long = randomBytes(100);
      sys.sendto(tx.fd, long, rx.port);
      sys.sendto(tx.fd, long.subarray(0, 32), rx.port);
      const got: Got[] = [];
      for await (const batch of ring.recvBatches(rx.fd, br, { addresses: true })) {
        got.push(...copy(batch, true));
        if (got.length === 2) break;
      }
      expect(got.map((g) => [g.truncated, g.data.length, g.port])).toEqual([
        [1, 32, tx.port],
        [0, 32, tx.port],
      ]);
      expect(got[0]!.data).toEqual(long.subarray(0, 32));
    });

    it("recycles each batch's buffers after its step: thousands of datagrams through 8 buffers, none held at the end", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 8, size: 64 });
      const rounds = 300;
      let got = 0;
      let bad = 0;
      const it = ring.recvBatches(rx.fd, br, {
        onBatch: (batch) => {
          for (let i = 0; i < batch.length; i++) if (batch.buffer[batch.offsets[i]!] !== (got++ & 0xff)) bad++;
        },
      });
      // Never more in flight than the ring has buffers, so nothing is dropped; the ring is refilled
      // only by the recycling after each step (ENOBUFS re-arms when the kernel found it empty).
      for (let r = 0; r < rounds; r++) {
        const base = got;
        for (let i = 0; i < 6; i++) sys.sendto(tx.fd, Buffer.from([(base + i) & 0xff, 1, 2]), rx.port);
        await until(() => got === base + 6);
      }
      expect(bad).toBe(0);
      expect(got).toBe(rounds * 6);
      // Every buffer is back with the kernel (it can say so since 6.8: IORING_REGISTER_PBUF_STATUS).
      let available: number | string;
      try {
        available = br.available();
      } catch (err) {
        available = (err as { code?: string }).code === "EINVAL" ? 8 : String(err);
      }
      expect(available).toBe(8);
      it.stop();
      await it.closed;
    });

    it("an abort stops it: the iterator rejects with AbortError, the buffers go back, the ring stays usable", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 4, size: 64 });
      const ac = new AbortController();
      const it = ring.recvBatches(rx.fd, br, { signal: ac.signal });
      sys.sendto(tx.fd, Buffer.from("one"), rx.port);
      const first = await it.next();
      expect(first.done).toBe(false);
      const pending = it.next();
      ac.abort();
      await expect(pending).rejects.toMatchObject({ name: "AbortError" });
      await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
      expect(br.users).toBe(0);
      br.close(); // no longer in use
      expect(await ring.nop()).toBe(0);
    });

    it("closing the ring mid-iteration ends it: data already received is delivered, then done", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 16, size: 64 });
      const it = ring.recvBatches([rx.fd, tx.fd], br);
      sys.sendto(tx.fd, Buffer.from("before"), rx.port);
      const first = await it.next();
      expect(first.done).toBe(false);
      expect(Buffer.from((first.value as RecvBatch).data(0)).toString()).toBe("before");
      const pending = it.next();
      const closed = ring.close();
      await expect(pending).resolves.toEqual({ done: true, value: undefined });
      await closed;
    });

    it("a connected UDP socket's ICMP error (ECONNREFUSED) does not end it: later datagrams still arrive", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const peer = sys.udpSocket({ port: 0 });
      const peerPort = sys.localPort(peer);
      sys.connect(rx.fd, peerPort);
      sys.close(peer); // nobody listens there now: a send from rx draws a port-unreachable
      const br = ring.createBufferRing({ count: 8, size: 64 });
      const got: string[] = [];
      const rb = ring.recvBatches(rx.fd, br, { onBatch: (b) => { for (let i = 0; i < b.length; i++) got.push(b.data(i).toString()); } });
      sys.sendto(rx.fd, Buffer.from("ping"), peerPort);
      await new Promise((r) => setTimeout(r, 20));
      const again = fds.track(sys.udpSocket({ port: peerPort }));
      sys.sendto(again, Buffer.from("after"), rx.port);
      await until(() => got.length === 1);
      expect(got).toEqual(["after"]);
      rb.stop();
      await expect(rb.closed).resolves.toBeUndefined();
    });

    it("datagrams that arrive while a batch is handled come in the same wake-up (deferTaskrun), and none is stranded", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 16, size: 64 });
      const total = 100;
      let got = 0;
      let bad = 0;
      // Each batch sends the next datagram from inside the callback: its completion work is queued
      // while the wake-up still runs. Past the bound on rounds per wake-up the loop is woken again.
      const rb = ring.recvBatches(rx.fd, br, {
        onBatch: (b) => {
          for (let i = 0; i < b.length; i++) if (b.buffer[b.offsets[i]!] !== (got++ & 0xff)) bad++;
          if (got < total) sys.sendto(tx.fd, Buffer.from([got & 0xff]), rx.port);
        },
      });
      const before = { ...ring.stats };
      sys.sendto(tx.fd, Buffer.from([0]), rx.port);
      await until(() => got === total);
      expect(bad).toBe(0);
      const s = ring.stats;
      const wakeups = s.wakeups - before.wakeups;
      const rechecks = s.rechecks - before.rechecks;
      if (ring.setup.flags.includes("DEFER_TASKRUN")) {
        expect(rechecks).toBeGreaterThan(0);
        expect(wakeups).toBeLessThan(s.calls - before.calls);
      } else {
        expect(rechecks).toBe(0);
      }
      rb.stop();
    });

    it("closing the ring while a completion pass runs (after a break): the cancellations are reaped and close() resolves", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const br = ring.createBufferRing({ count: 16, size: 64 });
      let closed = false;
      const done = (async () => {
        for await (const b of ring.recvBatches(rx.fd, br)) {
          expect(b.length).toBe(1);
          break; // cancels the receive
        }
        // Still inside the wake-up that delivered the batch (its microtasks run before it returns).
        br.close();
        await ring.close();
        closed = true;
      })();
      sys.sendto(fds.udp().fd, Buffer.from("x"), rx.port);
      await until(() => closed);
      await done;
      expect(ring.inflight).toBe(0);
    });

    it("with coalescing, a burst over many sockets and then silence is delivered whole (no completion work stranded)", async () => {
      const ring = rings.open(options);
      const rxs = Array.from({ length: 100 }, () => fds.udp());
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 256, size: 64 });
      ring.coalesce({ minBatch: 4, maxWaitUs: 1000 });
      let got = 0;
      const rb = ring.recvBatches(rxs.map((r) => r.fd), br, { onBatch: (b) => void (got += b.length) });
      await new Promise((r) => setTimeout(r, 20)); // every receive armed
      for (const r of rxs) sys.sendto(tx.fd, Buffer.from("x"), r.port);
      await until(() => got === 100);
      rb.stop();
    });

    it("the callback form: one call per batch, `closed` resolves on stop(), an aborted one too", async () => {
      const ring = rings.open(options);
      const rx = fds.udp();
      const tx = fds.udp();
      const br = ring.createBufferRing({ count: 16, size: 64 });
      const lengths: number[] = [];
      const rb = ring.recvBatches(rx.fd, br, { onBatch: (b) => void lengths.push(b.length) });
      for (let i = 0; i < 5; i++) sys.sendto(tx.fd, Buffer.from([i]), rx.port);
      await until(() => lengths.reduce((a, b) => a + b, 0) === 5);
      expect(lengths.every((n) => n > 0)).toBe(true);
      await expect(rb.next()).rejects.toThrow(/onBatch/);
      rb.stop();
      await expect(rb.closed).resolves.toBeUndefined();
      const ac = new AbortController();
      const rb2 = ring.recvBatches(rx.fd, br, { onBatch: () => {}, signal: ac.signal });
      ac.abort();
      await expect(rb2.closed).resolves.toBeUndefined();
    });
  },
  lacks.multishot,
);

it("recvBatches: bad input gets one-line errors, nothing is armed", () => {
  const rings2 = rings.open();
  const other = rings.open();
  const rx = fds.udp();
  const br = rings2.createBufferRing({ count: 4, size: 64 });
  const foreign = other.createBufferRing({ count: 4, size: 64 });
  const cases: Array<[() => unknown, RegExp]> = [
    [() => rings2.recvBatches([], br), /^Expected an fd or a non-empty array of fds for fds but received/],
    [() => rings2.recvBatches(-1, br), /^Expected non-negative integer for fds but received -1/],
    [() => rings2.recvBatches([rx.fd, "3" as unknown as number], br), /for fds\[1\] but received/],
    [() => rings2.recvBatches([{ fixed: -2 }], br), /for fds\[0\]\.fixed but received -2/],
    [() => rings2.recvBatches(rx.fd, foreign), /^Expected a BufferRing created by this IoUring for bufferRing/],
    [() => rings2.recvBatches(rx.fd, {} as never), /bufferRing/],
    [() => rings2.recvBatches(rx.fd, br, { addresses: "yes" } as never), /^Expected boolean for options\.addresses/],
    [() => rings2.recvBatches(rx.fd, br, { onBatch: 1 } as never), /^Expected function for options\.onBatch/],
    [() => rings2.recvBatches(rx.fd, br, { signal: {} } as never), /^Expected AbortSignal for options\.signal/],
    [() => rings2.recvBatches(rx.fd, br, { lease: true } as never), /for options\.lease but received/],
    [() => rings2.recvBatches(rx.fd, br, null as never), /^Expected object for options but received null/],
  ];
  for (const [fn, re] of cases) {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err, String(re)).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(re);
    expect(message).not.toContain("\n");
    expect((err as { code?: string }).code).toMatch(/^ERR_/);
  }
  expect(rings2.inflight).toBe(0);
  expect(br.users).toBe(0);
  void rings2.close();
  expect(() => rings2.recvBatches(rx.fd, br)).toThrow(expect.objectContaining({ code: "ERR_RINGPOLL_CLOSED" }));
});

// DEFER_TASKRUN posts completions only when this thread enters the ring, and the loop never turns
// below: every batch comes from ring.reap(), so its buffers must go back within that call (a wake-up
// hands them back after its JS call returns; nothing would here).
it.skipIf(lacks.deferTaskrun !== undefined)(
  `recvBatches driven by reap() alone hands each batch's buffers back at once: 60 datagrams through 8 buffers${lacks.deferTaskrun ? ` (skipped: ${lacks.deferTaskrun})` : ""}`,
  async () => {
    const ring = rings.open({ deferTaskrun: true });
    const rx = fds.udp();
    const tx = fds.udp();
    const br = ring.createBufferRing({ count: 8, size: 64 });
    let got = 0;
    const rb = ring.recvBatches(rx.fd, br, { onBatch: (b) => void (got += b.length) });
    ring.reap(); // submits the receive
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 6; i++) sys.sendto(tx.fd, Buffer.from([round, i]), rx.port);
      for (let spins = 0; spins < 10_000 && got < (round + 1) * 6; spins++) ring.reap();
      expect(got).toBe((round + 1) * 6);
    }
    expect(ring.stats.enobufs).toBe(0);
    rb.stop();
  },
);
