// The epoll and io_uring test files inside 6.19.x and 7.0.x guests, IOPOLL on the emulated NVMe disk
// with a poll queue included (RINGPOLL_IOPOLL_DEVICE, docs/matrix.md), and examples/iopoll-read.mjs
// reading that disk.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { matrix, results, tail } from "./matrix.js";

const dir = mkdtempSync(join(tmpdir(), "ringpoll-kernels-suite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tests = "packages/ringpoll/test/native";
const files = [
  `${tests}/epoll.test.ts`,
  `${tests}/examples.test.ts`,
  ...readdirSync(tests).filter((f) => /^uring.*\.test\.ts$/.test(f)).map((f) => `${tests}/${f}`),
];

describe.each(["6.19", "7.0"])("Linux %s.x in QEMU", (series) => {
  it(`passes ${files.map((f) => f.replace(`${tests}/`, "")).join(", ")}, the polled NVMe reads included`, async () => {
    const out = join(dir, series);
    const r = await matrix(["--kernel", series, "--out", out, "--vitest", "--", ...files]);
    const [release, report] = [...results(out)][0] ?? [];
    expect(release, tail(r, 80)).toMatch(new RegExp(`^${series.replace(".", "\\.")}\\.\\d+\\+deb13-cloud-amd64$`));
    const failed = report.testResults.flatMap((f: any) => {
      const tests = f.assertionResults.filter((a: any) => a.status === "failed").map((a: any) => `${a.fullName}: ${a.failureMessages[0]?.split("\n")[0]}`);
      return tests.length > 0 || f.status !== "failed" ? tests : [`${f.name}: ${f.message || "a hook or the file itself failed"}`];
    });
    expect(failed, tail(r, 80)).toEqual([]);
    expect(r.status, tail(r, 80)).toBe(0);
    expect(report.numPassedTests).toBeGreaterThan(0);
    const polled = report.testResults.flatMap((f: any) => f.assertionResults).filter((a: any) => /O_DIRECT writes then polled reads/.test(a.fullName));
    expect(polled.map((a: any) => [a.title, a.status])).toEqual([
      ["IOPOLL: O_DIRECT writes then polled reads, every byte verified", "passed"],
      ["HYBRID_IOPOLL: O_DIRECT writes then polled reads, every byte verified", "passed"],
    ]);
    const example = report.testResults.flatMap((f: any) => f.assertionResults).filter((a: any) => /reads RINGPOLL_IOPOLL_DEVICE for real/.test(a.fullName));
    expect(example.map((a: any) => a.status)).toEqual(["passed"]);
  });
});
