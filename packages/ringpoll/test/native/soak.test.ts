// The short soak (scripts/soak.mjs; `npm run soak` is the long one): 200,000 datagrams through each
// JS receive path (io_uring recvMultishot, epoll + sys.recvmmsg) and 300,000 Promise-API operations.
// Every datagram the kernel says it delivered (Udp InDatagrams of the soak's own network namespace)
// reached JS, every one sent is delivered or counted as an error, and RSS does not grow after warm-up.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const soak = fileURLToPath(new URL("../../../../scripts/soak.mjs", import.meta.url));

function netnsSkip(): string | null {
  if (process.getuid?.() !== 0) return "needs root for a network namespace of its own (host-wide Udp counters include other traffic)";
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return null;
  } catch {
    return "needs unshare -n and ip (iproute2) for a network namespace of its own";
  }
}
const skip = netnsSkip();
const sanitized = process.env.RINGPOLL_SANITIZED === "1";

interface Path {
  path: string;
  received?: number;
  sent?: number;
  ops?: number;
  kernel?: { InDatagrams: number; InErrors: number; RcvbufErrors: number; OutDatagrams: number };
  rssWarmMiB: number;
  rssEndMiB: number;
}

describe.skipIf(skip !== null)(`soak${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("every datagram the kernel delivered reaches JS on both paths, and RSS stays flat after warm-up", { timeout: 240_000 }, () => {
    const r = spawnSync(process.execPath, ["--expose-gc", soak, "--datagrams", "200000", "--ops", "300000", "--seconds", "150", "--json"], { encoding: "utf8", timeout: 200_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { counters: string; paths: Path[] };
    expect(result.counters).toBe("own network namespace");
    for (const p of result.paths) {
      if (p.kernel) {
        expect(p.received, p.path).toBeGreaterThanOrEqual(200_000);
        // Exact, whatever the load: what the kernel handed to the socket reader is what JS counted,
        // and what was sent was either delivered or dropped with a counted error.
        expect(p.kernel.InDatagrams, p.path).toBe(p.received);
        expect(p.kernel.OutDatagrams, p.path).toBe(p.sent);
        expect(p.kernel.InDatagrams + p.kernel.InErrors, p.path).toBe(p.kernel.OutDatagrams);
      } else {
        expect(p.ops).toBe(300_000);
      }
      // ASan keeps freed memory in quarantine: RSS says nothing there.
      if (!sanitized) expect(p.rssEndMiB - p.rssWarmMiB, `${p.path}: RSS ${p.rssWarmMiB} -> ${p.rssEndMiB} MiB`).toBeLessThan(5);
    }
  });
});
