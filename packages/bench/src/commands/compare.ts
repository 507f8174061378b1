import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { isAbsolute } from "node:path";
import { globSync } from "tinyglobby";
import { compareFiles, compareSides, type CompareReport } from "../compare/files.js";
import { defaultProfilePath, loadProfile } from "../compare/profile.js";
import { exitCode, failsGate } from "../compare/gate.js";
import { BadInput, loadResultFile } from "../compare/input.js";
import { reportJunit } from "../compare/junit.js";
import { reportMarkdown } from "../compare/markdown.js";
import { METRICS, type MetricName } from "../compare/metric.js";
import { describeResult } from "../compare/match.js";
import { reportText } from "../compare/text.js";
import { percent } from "../cli-args.js";

interface CompareFlags {
  json?: boolean;
  metric: (MetricName | "headline")[];
  target: number;
  failOnRegression?: number;
  markdown?: string;
  junit?: string;
  force?: boolean;
  noiseProfile: string | false;
  maxOtherBusy?: number;
}

export function metricList(text: string): (MetricName | "headline")[] {
  const names = text.split(",").map((s) => s.trim());
  for (const n of names) {
    if (n !== "headline" && !METRICS.includes(n as MetricName)) {
      throw new InvalidArgumentError(`Expected headline or one of ${METRICS.join(", ")} for --metric but received ${n}`);
    }
  }
  return names as (MetricName | "headline")[];
}

/** File arguments with glob patterns expanded (quoted patterns, or shells that leave them alone), in order. */
export function expandFiles(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    if (existsSync(arg) || !/[*?[{]/.test(arg)) return [arg];
    const found = globSync(arg, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(arg) }).sort();
    if (found.length === 0) throw new BadInput(`no file matches ${arg}`);
    return found;
  });
}

/** Writes the requested outputs; returns the exit code. */
export function emitReport(report: CompareReport, opts: Omit<CompareFlags, "metric" | "target" | "force" | "noiseProfile" | "maxOtherBusy">): number {
  const threshold = opts.failOnRegression;
  const gate = threshold === undefined ? undefined : { thresholdPercent: threshold, pass: !report.comparisons.some((c) => failsGate(c, threshold)) };
  if (opts.json) console.log(JSON.stringify({ ...report, ...(gate ? { gate } : {}) }, null, 2));
  else console.log(reportText(report, threshold));
  const markdown = reportMarkdown(report, threshold);
  // An output that cannot be written is bad input (exit 2), said in one line, not a stack trace.
  let unwritable = false;
  const write = (path: string, text: string, append = false): void => {
    try {
      if (append) appendFileSync(path, text);
      else writeFileSync(path, text);
    } catch (err) {
      unwritable = true;
      console.error(`ringpoll: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  if (opts.markdown) write(opts.markdown, markdown);
  if (process.env.GITHUB_STEP_SUMMARY) write(process.env.GITHUB_STEP_SUMMARY, markdown, true);
  if (opts.junit) write(opts.junit, reportJunit(report, threshold));
  const bad = report.comparisons.filter((c) => c.badInput);
  for (const c of bad) console.error(`ringpoll: ${describeResult(c)} ${c.metric}: ${c.reason}`);
  if (threshold !== undefined) {
    for (const c of report.comparisons.filter((x) => x.withheld)) console.error(`ringpoll: the gate cannot judge ${describeResult(c)} ${c.metric}: ${c.reason}`);
  }
  return unwritable ? 2 : exitCode(report.comparisons, threshold);
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description(
      "compare result files: ratio head/base with a 95 % CI, significance, verdict, minimum detectable effect. " +
        "`compare base.json head.json …` compares each head with the base; `compare a1.json a2.json -- b1.json b2.json` compares two sides of several sessions each (globs allowed)",
    )
    .argument("<files...>", "result files (ringpoll.bench.v1/v2 JSON): base then heads, or base files -- head files")
    .option("--json", "print the comparisons as JSON")
    .option("--metric <list>", `headline (pps, tps or iops by scenario) and/or ${METRICS.join(", ")}, comma-separated`, metricList, ["headline"])
    .option("--target <percent>", "effect size to compute the runs needed for", percent("--target", false), 1.5)
    .option("--fail-on-regression <percent>", "exit 1 when head is significantly slower by more than this (exit 2 when the verdict is withheld)", percent("--fail-on-regression", true))
    .option("--markdown <file>", "write a markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)")
    .option("--junit <file>", "write JUnit XML, one testcase per comparison")
    .option("--force", "give verdicts on results recorded under emulation (QEMU TCG)")
    .option("--noise-profile <file>", "the host's between-session noise from ringpoll calibrate (default: $RINGPOLL_NOISE_PROFILE or ~/.config/ringpoll/noise-profile.json when it exists)")
    .option("--no-noise-profile", "use no noise profile: one session per side gets no verdict")
    .option("--max-other-busy <percent>", "pairing by round: leave out rounds during which other work used more than this share of the host (recorded by matrix --interleave)", percent("--max-other-busy", false))
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((files: string[], opts: CompareFlags, cmd: Command) => {
      try {
        // operands after `--` are the head side (commander drops the `--` itself)
        const raw = (cmd.parent as (Command & { rawArgs?: string[] }) | null)?.rawArgs ?? [];
        const dash = raw.indexOf("--", raw.indexOf("compare") + 1);
        const after = dash >= 0 ? raw.length - dash - 1 : -1;
        const profilePath = opts.noiseProfile === false ? null : (opts.noiseProfile ?? defaultProfilePath());
        const profile = profilePath === null ? null : loadProfile(profilePath, typeof opts.noiseProfile === "string");
        const options = { metrics: opts.metric, targetPercent: opts.target, force: opts.force === true, profile, maxOtherBusy: opts.maxOtherBusy === undefined ? undefined : opts.maxOtherBusy / 100 };
        let report: CompareReport;
        if (after >= 0) {
          const [left, right] = [files.slice(0, files.length - after), files.slice(files.length - after)];
          if (left.length === 0 || right.length === 0) throw new BadInput("Expected base files before -- and head files after it");
          report = compareSides(expandFiles(left).map(loadResultFile), expandFiles(right).map(loadResultFile), options);
        } else {
          const all = expandFiles(files);
          if (all.length < 2) throw new BadInput("Expected a base file and at least one head file");
          report = compareFiles(loadResultFile(all[0]), all.slice(1).map(loadResultFile), options);
        }
        process.exitCode = emitReport(report, opts);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        console.error(`ringpoll compare: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
