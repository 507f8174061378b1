// Polled O_DIRECT reads: an IOPOLL ring busy-polls the device for completions instead of waiting
// for an interrupt. It needs O_DIRECT and a block device with poll queues (queue/io_poll=1, e.g.
// NVMe booted with nvme.poll_queues=1); virtio-blk has none, and then this explains and exits 0.
// Usage: node examples/iopoll-read.mjs [device or file]   (default: RINGPOLL_IOPOLL_DEVICE, else a
// scratch file in the temp directory). A device is only read, never written.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IoUring, alignedBuffer, blockDeviceOf } from "ringpoll";

const O_DIRECT = 0o40000;
const BLOCK = 4096;
const BLOCKS = 16;

let target = process.argv[2] ?? process.env.RINGPOLL_IOPOLL_DEVICE;
let scratchDir;
if (target === undefined) {
  scratchDir = mkdtempSync(join(process.env.RINGPOLL_SCRATCH ?? tmpdir(), "ringpoll-iopoll-"));
  target = join(scratchDir, "data");
  writeFileSync(target, Buffer.alloc(BLOCK * BLOCKS, 7));
}

let fd;
try {
  fd = openSync(target, O_DIRECT); // O_RDONLY | O_DIRECT
} catch (err) {
  if (err.code !== "EINVAL") throw err;
  console.log(`iopoll: not available here: the filesystem of ${target} refuses O_DIRECT`);
  process.exit(0);
}
const ring = new IoUring({ iopoll: true });
const buf = alignedBuffer(BLOCK * BLOCKS); // O_DIRECT wants block-aligned memory, offsets, lengths
try {
  const reads = [];
  for (let b = 0; b < BLOCKS; b++) {
    reads.push(ring.read(fd, buf, { offset: b * BLOCK, length: BLOCK, position: b * BLOCK }));
  }
  const sizes = await Promise.all(reads);
  const dev = blockDeviceOf(fd);
  const total = sizes.reduce((a, n) => a + n, 0);
  console.log(`iopoll: read ${total} bytes in ${BLOCKS} polled reads from ${target} (device ${dev?.name}, io_poll=${dev?.ioPoll})`);
} catch (err) {
  // The kernel answers EOPNOTSUPP; ringpoll's message names the cause (no poll queues, no O_DIRECT,
  // not a block device). That is a property of this machine, not a failure of the example.
  if (err.code !== "EOPNOTSUPP") throw err;
  console.log(`iopoll: not available here, nothing to poll: ${err.message}`);
} finally {
  await ring.close();
  closeSync(fd);
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
}
