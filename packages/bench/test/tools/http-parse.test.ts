// What `bench http` reads from its tools: wrk's Lua summary line and strace -c's table.
import { describe, expect, it } from "vitest";
import { parseWrk } from "../../src/http/wrk.js";
import { parseStraceSummary } from "../../src/http/syscalls.js";

describe("bench http parsers", () => {
  it("parseWrk takes the summary line among wrk's own output", () => {
    const out = [
      "Running 2s test @ http://127.0.0.1:1234/",
      "  1 threads and 50 connections",
      'RINGPOLL-WRK {"requests":31000,"durationUs":2000500,"bytes":4800000,"connect":0,"read":2,"write":0,"status":1,"timeout":0,"p50":1500,"p90":2100,"p99":9000,"p999":15000,"max":20000,"mean":1700.5}',
    ].join("\n");
    expect(parseWrk(out)).toEqual({
      requests: 31000,
      seconds: 2.0005,
      bytes: 4800000,
      errors: { connect: 0, read: 2, write: 0, status: 1, timeout: 0 },
      latencyUs: { p50: 1500, p90: 2100, p99: 9000, p999: 15000, max: 20000, mean: 1700.5 },
    });
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused")).toThrow(/wrk printed no summary: unable to connect/);
  });

  it("parseStraceSummary reads calls per syscall, with and without an errors column, and skips total", () => {
    const text = [
      "% time     seconds  usecs/call     calls    errors syscall",
      "------ ----------- ----------- --------- --------- ----------------",
      " 88.71    1.762542        1822       967       120 futex",
      "  6.64    0.132007           8     16175           write",
      "  3.80    0.075447           2     29521     13295 read",
      "  0.01    0.000173           3        51           io_uring_enter",
      "------ ----------- ----------- --------- --------- ----------------",
      "100.00    1.986000          42     46714     13415 total",
    ].join("\n");
    expect(parseStraceSummary(text)).toEqual({ futex: 967, write: 16175, read: 29521, io_uring_enter: 51 });
  });
});
