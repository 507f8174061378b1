// Exercises every native object of ringpoll.node and exits normally, so LeakSanitizer (at exit)
// sees what the addon left behind. Run by test/native/lsan.test.ts in the ASan build; any path
// that allocates natively belongs here: open, use, close, close with requests in flight, drop to
// GC, worker teardown, and objects still open when the process exits.
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { once } from "node:events";
import net from "node:net";
import { Epoll, IoUring, SqeBatch, sys } from "ringpoll";
import { createServer } from "ringpoll/net";

const gc = globalThis.gc;
const EPOLLIN = 1;

async function uring(options) {
  const ring = new IoUring(options);
  await ring.nop();
  await ring.timeout(1);
  const [r, w] = sys.pipe();
  const efd = sys.eventfd(0);
  const a = sys.udpSocket({ port: 0 });
  const b = sys.udpSocket({ port: 0 });
  sys.connect(a, sys.localPort(b));
  const read = ring.read(r, Buffer.alloc(64));
  await ring.write(w, Buffer.from("hello"));
  await read;
  await ring.write(efd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
  await ring.read(efd, Buffer.alloc(8));
  await ring.send(a, Buffer.from("datagram"));
  await ring.recv(b, Buffer.alloc(64));
  await ring.sendmsg(a, Buffer.from("to"), sys.localPort(b));
  await ring.recvmsg(b, Buffer.alloc(64));
  await ring.pollAdd(w, 4);
  await ring.recv(b, Buffer.alloc(8), { timeoutMs: 1 }).catch(() => {});
  const ac = new AbortController();
  const aborted = ring.recv(b, Buffer.alloc(8), { signal: ac.signal }).catch(() => {});
  ac.abort();
  await aborted;
  const cancelled = ring.read(r, Buffer.alloc(8));
  await ring.cancel(cancelled);
  await cancelled.catch(() => {});
  ring.registerBuffers([Buffer.alloc(64), Buffer.alloc(64)]);
  await ring.writeFixed(w, 0, { length: 4 });
  await ring.readFixed(r, 1, { length: 4 });
  ring.unregisterBuffers();
  ring.registerBuffers([Buffer.alloc(32)]);
  ring.registerFiles([r, w]);
  await ring.write({ fixed: 1 }, Buffer.from("x"));
  await ring.read({ fixed: 0 }, Buffer.alloc(1));
  ring.unregisterFiles();
  // multishot, copies and leases, through ENOBUFS re-arms (a socket each: a stopped multishot
  // may still take datagrams until the kernel has processed its cancellation)
  const br = ring.createBufferRing({ count: 4, size: 128 });
  const receive = async (iterate, count) => {
    const to = sys.udpSocket({ port: 0 });
    const it = iterate(to);
    for (let i = 0; i < count; i++) sys.sendto(a, Buffer.from(`m${i}`), sys.localPort(to));
    let n = 0;
    for await (const m of it) {
      m.release?.();
      if (++n === count) break;
    }
    sys.close(to);
  };
  await receive((fd) => ring.recvMultishot(fd, br), 10);
  await receive((fd) => ring.recvMultishot(fd, br, { lease: true }), 3);
  await receive((fd) => ring.recvmsgMultishot(fd, br), 3);
  br.close();
  // batch API
  const batch = new SqeBatch(8);
  batch.pushNops(8);
  const done = new Promise((resolve) => {
    let seen = 0;
    ring.onCompletions((c) => {
      seen += c.length;
      if (seen >= 8) resolve();
    });
  });
  ring.queue(batch);
  await done;
  ring.onCompletions(null);
  // close with requests in flight (a pinned buffer, a buffer ring in use, a linked timeout)
  const br2 = ring.createBufferRing({ count: 2, size: 64 });
  const it = ring.recvMultishot(b, br2);
  const pending = [ring.read(r, Buffer.alloc(32)), ring.recv(b, Buffer.alloc(8), { timeoutMs: 10_000 }), it.next()].map((p) => p.catch(() => {}));
  await ring.close();
  await Promise.all(pending);
  for (const fd of [r, w, efd, a, b]) sys.close(fd);
}

async function closeInCompletion() {
  const ring = new IoUring();
  const [r, w] = sys.pipe();
  const p = ring.read(r, Buffer.alloc(8)).then(() => ring.close());
  const q = ring.read(r, Buffer.alloc(8)).catch(() => {});
  sys.write(w, Buffer.from("x"));
  await p;
  await q;
  sys.close(r);
  sys.close(w);
}

async function dropped() {
  // Rings and Epolls nobody closes: finalizers release them.
  for (let i = 0; i < 10; i++) {
    const ring = new IoUring({ entries: 4 });
    await ring.nop();
    ring.createBufferRing({ count: 2, size: 16 });
    ring.registerBuffers([Buffer.alloc(16)]);
    const ep = new Epoll();
    ep.start(() => {}).stop();
    const rx = new Epoll();
    rx.start(() => {}, { datagrams: new sys.DatagramBatch({ count: 2, slotSize: 8 }) });
    rx.stop();
  }
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function epoll() {
  const ep = new Epoll({ maxEvents: 4 });
  const efd = sys.eventfd(0);
  ep.add(efd, EPOLLIN);
  sys.write(efd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
  await new Promise((resolve) => ep.start(() => (ep.stop(), resolve())));
  ep.wait(0);
  const it = ep.batches();
  await it.next();
  await it.return();
  ep.close();
  sys.close(efd);
  const a = sys.udpSocket({ port: 0 });
  const b = sys.udpSocket({ port: 0 });
  const out = new sys.DatagramBatch({ count: 8, slotSize: 64, addresses: true });
  for (let i = 0; i < 8; i++) {
    out.set(i, Buffer.from(`d${i}`));
    out.setAddress(i, sys.localPort(b), "127.0.0.1");
  }
  sys.sendmmsg(a, out);
  const inb = new sys.DatagramBatch({ count: 8, slotSize: 64, addresses: true });
  sys.recvmmsg(b, inb);
  sys.close(a);
  sys.close(b);
}

async function tcp(backend) {
  const server = createServer({ backend }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const clients = [];
  for (let i = 0; i < 4; i++) {
    const c = net.connect(server.address().port, "127.0.0.1");
    c.on("error", () => {});
    clients.push(c);
    await once(c, "connect");
    c.write(Buffer.alloc(100_000, i));
  }
  for (const c of clients.slice(0, 2)) {
    let got = 0;
    c.on("data", (d) => {
      got += d.length;
      if (got === 100_000) c.end();
    });
  }
  clients[2].destroy();
  clients[3].resetAndDestroy();
  await Promise.all(clients.map((c) => once(c, "close")));
  await new Promise((r) => server.close(r));
}

async function worker() {
  // Terminated while its ring, buffer ring, epoll and server are busy: the cleanup hooks run.
  const w = new Worker(new URL(import.meta.url), { argv: ["worker"] });
  await once(w, "message");
  await w.terminate();
}

async function inWorker() {
  const ring = new IoUring();
  const [r] = sys.pipe();
  ring.read(r, Buffer.alloc(16)).catch(() => {});
  ring.registerBuffers([Buffer.alloc(64)]);
  const b = sys.udpSocket({ port: 0 });
  const br = ring.createBufferRing({ count: 4, size: 64 });
  ring.recvMultishot(b, br).next().catch(() => {});
  const ep = new Epoll();
  ep.add(r, EPOLLIN);
  ep.start(() => {}, { datagrams: new sys.DatagramBatch({ count: 2, slotSize: 8 }) });
  const server = createServer({ backend: "io_uring" }, () => {});
  server.listen(0, "127.0.0.1", () => parentPort.postMessage("busy"));
}

const step = (s) => process.env.RINGPOLL_LSAN_VERBOSE && console.log(s);
async function main() {
  for (const options of [{}, { coopTaskrun: true }, { singleIssuer: true, deferTaskrun: true }, { sqpoll: { idleMs: 10 } }]) {
    step(`uring ${JSON.stringify(options)}`);
    await uring(options);
  }
  step("closeInCompletion()");
  await closeInCompletion();
  step("dropped()");
  await dropped();
  step("epoll()");
  await epoll();
  step("tcp(io_uring)");
  await tcp("io_uring");
  step("tcp(epoll)");
  await tcp("epoll");
  step("worker");
  await worker();
  await worker();
  // Still open at exit, with a request in flight: the environment's teardown releases it.
  const ring = new IoUring();
  const [r] = sys.pipe();
  ring.read(r, Buffer.alloc(16)).catch(() => {});
  ring.registerBuffers([Buffer.alloc(64)]);
  ring.createBufferRing({ count: 4, size: 64 });
  ring.unref();
  const ep = new Epoll();
  ep.add(r, EPOLLIN);
  ep.start(() => {}, { datagrams: new sys.DatagramBatch({ count: 2, slotSize: 8, buffer: new Uint8Array(16) }) }).unref();
  console.log("exercised");
}

if (isMainThread) await main();
else await inWorker();
