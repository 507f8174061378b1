// The CLI given hostile files and paths, as a careless user or a broken CI job would: report,
// compare, bench and matrix each answer with one line on stderr and exit 2, never a stack trace.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ringpoll, type CliResult } from "./cli.js";
import { result, resultFile, sample, tmp, writeJson } from "./results.js";

let dir: string;
let good: string;
const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** A valid result file with one change made to it. */
function hostile(name: string, change: (f: any) => void): string {
  const f: any = resultFile("7.0.0", [result("epoll", sample(1, 4, 1e6, 0.02))]);
  change(f);
  return writeJson(dir, name, f);
}

/** A result file with NaN for a figure (JSON.stringify would write null): not JSON. */
function nanFile(name: string): string {
  const path = hostile(name, () => {});
  writeFileSync(path, readFileSync(path, "utf8").replace(/"pps":[\d.e+]+/, '"pps":NaN'));
  return path;
}

/** A 1 GiB file (sparse: "{" then zeros), as a runaway job could leave. */
function hugeFile(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "{");
  truncateSync(path, 1 << 30);
  return path;
}

function oneLine(r: CliResult, message: RegExp): void {
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.status, r.stderr).toBe(2);
}

beforeAll(() => {
  dir = tmp();
  good = writeJson(dir, "good.json", resultFile("6.19.0", [result("epoll", sample(2, 4, 1e6, 0.02))]));
  mkdirSync(join(dir, "empty-folder"));
  mkdirSync(join(dir, "out-dir"));
  writeFileSync(join(dir, "truncated.json"), JSON.stringify(resultFile("7.0.0", [result("epoll", [1, 2, 3])])).slice(0, 120));
  writeFileSync(join(dir, "a-file"), "x");
});

describe("ringpoll report with hostile input", () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ["env missing", () => [hostile("no-env.json", (f) => delete f.env)], /^ringpoll report: .*no-env\.json: expected an object for env but found nothing$/],
    ["env null", () => [hostile("null-env.json", (f) => (f.env = null))], /null-env\.json: expected an object for env but found null$/],
    ["env.warnings a string", () => [hostile("warnings.json", (f) => (f.env.warnings = "hot"))], /warnings\.json: expected an array of strings for env\.warnings but found string$/],
    ["env.warnings with objects", () => [hostile("warnings2.json", (f) => (f.env.warnings = [{}]))], /warnings2\.json: expected an array of strings for env\.warnings but found an array with other values$/],
    ["a run that is null", () => [hostile("null-run.json", (f) => (f.results[0].runs[2] = null))], /null-run\.json: results\[0\]\.runs\[2\]: expected an object but found null$/],
    ["results null", () => [hostile("null-results.json", (f) => (f.results = null))], /null-results\.json: expected an array for results but found null$/],
    ["another schema", () => [hostile("schema.json", (f) => (f.schema = "ringpoll.bench.v0"))], /schema\.json: expected schema ringpoll\.bench\.v\d/],
    ["truncated JSON", () => [join(dir, "truncated.json")], /truncated\.json: not JSON/],
    ["a file that does not exist", () => [join(dir, "missing.json")], /missing\.json: cannot read \(ENOENT\)$/],
    ["a folder without result files", () => [join(dir, "empty-folder")], /empty-folder: no ringpoll result files in this folder$/],
    ["NaN figures", () => [nanFile("nan.json")], /nan\.json: not JSON/],
    ["a negative figure", () => [hostile("negative.json", (f) => (f.results[0].runs[1].pps = -3))], /negative\.json: results\[0\]\.runs\[1\]\.pps: expected a number of at least 0 but found -3$/],
    ["a figure that is a string", () => [hostile("string.json", (f) => (f.results[0].runs[0].seconds = "2"))], /string\.json: results\[0\]\.runs\[0\]\.seconds: expected a number of at least 0 but found string$/],
    ["a negative per-second sample", () => [hostile("sample.json", (f) => (f.results[0].runs[2].samples = [1e6, -1]))], /sample\.json: results\[0\]\.runs\[2\]\.samples\[1\]: expected a number of at least 0 but found -1$/],
    ["a 1 GiB file", () => [hugeFile("huge.json")], /huge\.json: not JSON/],
  ];
  it.each(cases)("%s: one line, exit 2, no page", (_name, files, message) => {
    const html = join(dir, "never.html");
    oneLine(ringpoll(["report", good, ...files(), "--html", html]), message);
  });

  it("--html at a directory", () => {
    oneLine(ringpoll(["report", good, "--html", join(dir, "out-dir")]), /^ringpoll report: cannot write .*out-dir: EISDIR/);
  });

  it("--html in a directory that does not exist", () => {
    oneLine(ringpoll(["report", good, "--html", join(dir, "nowhere", "r.html")]), /^ringpoll report: cannot write .*nowhere\/r\.html: ENOENT$/);
  });

  it("--html under a file", () => {
    oneLine(ringpoll(["report", good, "--html", join(dir, "a-file", "r.html")]), /^ringpoll report: cannot write .*a-file\/r\.html: ENOTDIR$/);
  });

  // a read-only filesystem needs a mount: a private mount namespace of our own (root, unshare)
  const canMount = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;
  it.skipIf(!canMount)("--html on a read-only filesystem (EROFS)", () => {
    const ro = join(dir, "ro");
    mkdirSync(ro);
    const r = spawnSync("unshare", ["-m", "sh", "-c", `mount -t tmpfs -o ro,size=1m tmpfs "$0" && exec "$1" "$2" report "$3" --html "$0/r.html"`, ro, process.execPath, cli, good], { encoding: "utf8" });
    oneLine({ status: r.status, stdout: r.stdout, stderr: r.stderr }, /^ringpoll report: cannot write .*ro\/r\.html: EROFS$/);
  });
});

describe("ringpoll compare with hostile input", () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ["a file that does not exist", () => [good, join(dir, "missing.json")], /^ringpoll compare: .*missing\.json: cannot read \(ENOENT\)$/],
    ["a directory as a file", () => [good, join(dir, "out-dir")], /^ringpoll compare: .*out-dir: cannot read \(EISDIR\)$/],
    ["truncated JSON", () => [good, join(dir, "truncated.json")], /^ringpoll compare: .*truncated\.json: not JSON/],
    ["another schema", () => [good, hostile("schema2.json", (f) => (f.schema = 7))], /^ringpoll compare: .*schema2\.json: expected schema/],
    ["results an object", () => [good, hostile("results-obj.json", (f) => (f.results = {}))], /^ringpoll compare: .*results-obj\.json: expected an array for results but found object$/],
    ["--markdown at a directory", () => [good, good, "--markdown", join(dir, "out-dir")], /^ringpoll: cannot write .*out-dir: EISDIR$/],
  ];
  it.each(cases)("%s: one line, exit 2", (_name, args, message) => {
    oneLine(ringpoll(["compare", ...args(), "--force"]), message);
  });
});

describe("ringpoll bench with hostile paths and values", () => {
  const quick = ["--duration", "0.1", "--warmup", "0", "--runs", "1", "--receivers", "epoll", "--no-progress"];
  const cases: Array<[string, () => string[], RegExp]> = [
    ["--out at a directory", () => ["bench", "pps", ...quick, "--out", join(dir, "out-dir")], /^ringpoll bench: EISDIR/],
    ["--out under a file", () => ["bench", "pps", ...quick, "--out", join(dir, "a-file", "r.json")], /^ringpoll bench: (ENOTDIR|EEXIST)/],
    ["--duration not a number", () => ["bench", "pps", "--duration", "fast"], /Expected a number above 0 and up to 3600 for --duration but received fast/],
    ["an unknown receiver", () => ["bench", "pps", "--receivers", "epoll,<script>"], /Expected one of .* for --receivers but received <script>/],
    ["iops --file that does not exist", () => ["bench", "iops", "--file", join(dir, "missing.bin"), "--duration", "0.1", "--runs", "1", "--engines", "io_uring"], /^ringpoll bench: .*ENOENT/],
  ];
  it.each(cases)("%s: one line, exit 2", (_name, args, message) => {
    oneLine(ringpoll(args()), message);
  });
});

describe("ringpoll matrix with hostile paths", () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ["--kernel at a text file", () => ["--kernel", join(dir, "a-file")], /Expected a path to a vmlinuz file for --kernel but received ".*a-file" \(not a bzImage\)$/],
    ["--kernel at a directory", () => ["--kernel", join(dir, "out-dir")], /Expected a path to a vmlinuz file for --kernel but received ".*out-dir" \(not a bzImage\)$/],
    ["--out at a file", () => ["--kernel", "7.0", "--out", join(dir, "a-file")], /^ringpoll matrix: Expected a directory for --out but .*a-file is a file$/],
  ];
  it.each(cases)("%s: one line, exit 2, nothing boots", (_name, args, message) => {
    oneLine(ringpoll(["matrix", ...args(), "--", "probe"]), message);
  });
});
