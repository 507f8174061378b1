// IOPOLL: on a device without poll queues the kernel answers EOPNOTSUPP and the error says why; the
// polled data path runs where a device with poll queues is named by RINGPOLL_IOPOLL_DEVICE (the QEMU
// kernel matrix sets it to its emulated NVMe disk, booted with nvme.poll_queues=1).
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IoUring, alignedBuffer } from "ringpoll";

const O_DIRECT = 0o40000;
const device = process.env.RINGPOLL_IOPOLL_DEVICE;
const dir = mkdtempSync(join(process.env.RINGPOLL_SCRATCH ?? tmpdir(), "ringpoll-iopoll-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openDirect(path: string): number | null {
  try {
    return openSync(path, O_DIRECT | 2 /* O_RDWR */);
  } catch {
    return null;
  }
}

const scratch = join(dir, "data");
writeFileSync(scratch, Buffer.alloc(64 * 1024, 7));
const directFd = openDirect(scratch);
// tmpfs accepts O_DIRECT since 6.6 but has no block device to explain (device major 0).
const onBlockDevice = ((statSync(scratch).dev & 0xfff00) >>> 8) !== 0;
const noDirect =
  directFd === null
    ? "the temp directory's filesystem refuses O_DIRECT"
    : !onBlockDevice
      ? "the temp directory is not on a block device (tmpfs); set RINGPOLL_SCRATCH to a directory on a disk"
      : null;
if (directFd !== null) closeSync(directFd);

describe("IOPOLL without poll queues", () => {
  it.skipIf(noDirect !== null)(`EOPNOTSUPP names the device and its queue/io_poll ${noDirect ? `(skipped: ${noDirect})` : ""}`, async (ctx) => {
    const fd = openDirect(scratch)!;
    const ring = new IoUring({ iopoll: true });
    try {
      const buf = alignedBuffer(4096);
      const result = await ring.read(fd, buf, { position: 0 }).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      if (result === null) ctx.skip(); // this host's device has poll queues: nothing to explain
      expect(result).toMatchObject({ code: "EOPNOTSUPP", syscall: "io_uring read" });
      expect(result!.message).toMatch(/device \S+ has no poll queues \(queue\/io_poll=0\)/);
    } finally {
      ring.close();
      closeSync(fd);
    }
  });

  it("a buffered fd on an IOPOLL ring: the error says IOPOLL needs O_DIRECT", async () => {
    const fd = openSync(scratch, "r");
    const ring = new IoUring({ iopoll: true });
    try {
      await expect(ring.read(fd, Buffer.alloc(4096), { position: 0 })).rejects.toMatchObject({
        code: "EOPNOTSUPP",
        message: expect.stringContaining(`IOPOLL needs O_DIRECT and fd ${fd} was opened without it`),
      });
    } finally {
      ring.close();
      closeSync(fd);
    }
  });
});

function ioPollOf(dev: string): string | null {
  const path = `/sys/block/${basename(dev)}/queue/io_poll`;
  return existsSync(path) ? readFileSync(path, "utf8").trim() : null;
}

const polledSkip = device === undefined
  ? "RINGPOLL_IOPOLL_DEVICE is not set (a scratch block device with poll queues; npm run test:kernels sets it inside QEMU)"
  : ioPollOf(device) !== "1"
    ? `${device} has no poll queues (queue/io_poll=${ioPollOf(device)})`
    : null;

describe.skipIf(polledSkip !== null)(`IOPOLL on a device with poll queues${polledSkip ? ` (skipped: ${polledSkip})` : ""}`, () => {
  const modes: Array<[string, true | "hybrid"]> = [["IOPOLL", true], ["HYBRID_IOPOLL", "hybrid"]];
  it.each(modes)("%s: O_DIRECT writes then polled reads, every byte verified", async (_name, iopoll) => {
    let ring: IoUring;
    try {
      ring = new IoUring({ iopoll });
    } catch (e) {
      if (iopoll === "hybrid" && (e as NodeJS.ErrnoException).code === "EINVAL") return; // kernel < 6.13
      throw e;
    }
    const fd = openSync(device!, O_DIRECT | 2);
    try {
      const blocks = 64;
      const out = alignedBuffer(4096 * blocks);
      for (let i = 0; i < out.length; i++) out[i] = (i * 31 + (iopoll === true ? 1 : 2)) & 0xff;
      const writes = [];
      for (let b = 0; b < blocks; b++) writes.push(ring.write(fd, out, { offset: b * 4096, length: 4096, position: b * 4096 }));
      expect(await Promise.all(writes)).toEqual(Array(blocks).fill(4096));
      const back = alignedBuffer(4096 * blocks);
      const reads = [];
      for (let b = 0; b < blocks; b++) reads.push(ring.read(fd, back, { offset: b * 4096, length: 4096, position: b * 4096 }));
      expect(await Promise.all(reads)).toEqual(Array(blocks).fill(4096));
      expect(back.equals(out)).toBe(true);
      // Fixed buffers on the same polled path.
      ring.registerBuffers([alignedBuffer(4096 * 4)]);
      expect(await ring.readFixed(fd, 0, { position: 8192, length: 8192 })).toBe(8192);
      expect(ring.inflight).toBe(0);
    } finally {
      ring.close();
      closeSync(fd);
    }
  });
});
