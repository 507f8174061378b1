// Bad input to IoUring is refused with a typed error (a `code`) that names what was wrong.
import { afterEach, describe, expect, it } from "vitest";
import { IoUring, sys } from "ringpoll";
import { Fds } from "./helpers.js";
import { Rings } from "./uring-configs.js";

const fds = new Fds();
const rings = new Rings();
afterEach(() => {
  rings.closeAll();
  fds.closeAll();
});

const sqpollRefused = ((): string | undefined => {
  try {
    void new IoUring({ sqpoll: true }).close();
    return undefined;
  } catch (err) {
    return `SQPOLL refused here (${(err as Error).message})`;
  }
})();

const coded = (code: string, text: string | RegExp) =>
  expect.objectContaining({ code, message: typeof text === "string" ? expect.stringContaining(text) : expect.stringMatching(text) });

describe("setup options", () => {
  it("sqpoll: null is a type error naming the option, not a crash in the validator", () => {
    expect(() => new IoUring({ sqpoll: null as never })).toThrow(coded("ERR_INVALID_ARG_TYPE", "for options.sqpoll "));
    expect(() => new IoUring({ sqpoll: "yes" as never })).toThrow(coded("ERR_INVALID_ARG_TYPE", "for options.sqpoll "));
    expect(() => new IoUring({ sqpoll: { idle: 5 } as never })).toThrow(coded("ERR_INVALID_ARG_VALUE", "for options.sqpoll.idle "));
  });

  it("a CQ smaller than the SQ is refused naming cqEntries; sizes the kernel rounds to equal are fine", () => {
    expect(() => new IoUring({ entries: 64, cqEntries: 16 })).toThrow(coded("ERR_INVALID_ARG_VALUE", "for options.cqEntries "));
    const ring = rings.open({ entries: 100, cqEntries: 100 });
    expect(ring.setup.cqEntries).toBe(128);
  });

  it.skipIf(sqpollRefused !== undefined)(`a CPU the SQ thread cannot use is blamed, not SQPOLL${sqpollRefused ? ` (skipped: ${sqpollRefused})` : ""}`, () => {
    expect(() => new IoUring({ sqpoll: { cpu: 4095 } })).toThrow(coded("EINVAL", "options.sqpoll.cpu 4095"));
  });
});

describe("createBufferRing", () => {
  it("more memory than one Uint8Array holds is refused with a code, not an uncoded RangeError", () => {
    const ring = rings.open();
    expect(() => ring.createBufferRing({ count: 32768, size: 2 ** 20 })).toThrow(coded("ERR_INVALID_ARG_VALUE", "count × size up to"));
    expect(() => ring.createBufferRing({ count: 3, size: 8 })).toThrow(coded("ERR_INVALID_ARG_VALUE", "for options.count "));
  });
});

describe("after close()", () => {
  it("readFixed and recvMultishot give the closed-ring error, as every other method does", async () => {
    const ring = new IoUring();
    const b = fds.udp();
    ring.registerBuffers([Buffer.alloc(16)]);
    const br = ring.createBufferRing({ count: 2, size: 16 });
    await ring.close();
    const closed = coded("ERR_RINGPOLL_CLOSED", "IoUring is closed");
    expect(() => ring.readFixed(b.fd, 0)).toThrow(closed);
    expect(() => ring.writeFixed(b.fd, 0)).toThrow(closed);
    expect(() => ring.recvMultishot(b.fd, br)).toThrow(closed);
    expect(() => ring.recvmsgMultishot(b.fd, br)).toThrow(closed);
    expect(() => ring.acceptMultishot(b.fd)).toThrow(closed);
  });
});

describe("unknown option keys", () => {
  it("every op refuses a key it does not take (a typo would otherwise be ignored)", () => {
    const ring = rings.open();
    const b = fds.udp();
    const [r, w] = fds.pipe();
    ring.registerBuffers([Buffer.alloc(16)]);
    const br = ring.createBufferRing({ count: 2, size: 16 });
    const buf = Buffer.alloc(8);
    const typo = { timout: 5 } as never;
    const calls: Array<[string, () => unknown]> = [
      ["nop", () => ring.nop(typo)],
      ["read", () => ring.read(r, buf, typo)],
      ["write", () => ring.write(w, buf, typo)],
      ["readFixed", () => ring.readFixed(r, 0, typo)],
      ["writeFixed", () => ring.writeFixed(w, 0, typo)],
      ["fsync", () => ring.fsync(w, typo)],
      ["recv", () => ring.recv(b.fd, buf, typo)],
      ["send", () => ring.send(b.fd, buf, typo)],
      ["recvmsg", () => ring.recvmsg(b.fd, buf, typo)],
      ["sendmsg", () => ring.sendmsg(b.fd, buf, b.port, "127.0.0.1", typo)],
      ["accept", () => ring.accept(b.fd, typo)],
      ["connect", () => ring.connect(b.fd, b.port, "127.0.0.1", typo)],
      ["pollAdd", () => ring.pollAdd(b.fd, 1, typo)],
      ["timeout", () => ring.timeout(1, typo)],
      ["recvMultishot", () => ring.recvMultishot(b.fd, br, typo)],
      ["recvmsgMultishot", () => ring.recvmsgMultishot(b.fd, br, typo)],
      ["acceptMultishot", () => ring.acceptMultishot(b.fd, typo)],
    ];
    for (const [name, call] of calls) {
      expect(call, name).toThrow(coded("ERR_INVALID_ARG_VALUE", "for options.timout "));
    }
    // Keys an op does not take are refused too: recv has no file position.
    expect(() => ring.recv(b.fd, buf, { position: 0 } as never)).toThrow(coded("ERR_INVALID_ARG_VALUE", "for options.position "));
    expect(ring.inflight).toBe(0); // nothing refused reached the kernel
    sys.write(w, Buffer.from("x"));
  });
});
