import { appendFileSync, writeFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { compareFiles, type CompareReport } from "../compare/files.js";
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

/** Writes the requested outputs; returns the exit code. */
export function emitReport(report: CompareReport, opts: Omit<CompareFlags, "metric" | "target" | "force">): number {
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
  return unwritable ? 2 : exitCode(report.comparisons, threshold);
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("compare result files: ratio head/base with a 95 % CI, significance, verdict, minimum detectable effect")
    .argument("<base>", "baseline result file (ringpoll.bench.v1 JSON)")
    .argument("<head...>", "result files compared with the baseline")
    .option("--json", "print the comparisons as JSON")
    .option("--metric <list>", `headline (pps, tps or iops by scenario) and/or ${METRICS.join(", ")}, comma-separated`, metricList, ["headline"])
    .option("--target <percent>", "effect size to compute the runs needed for", percent("--target", false), 1.5)
    .option("--fail-on-regression <percent>", "exit 1 when head is significantly slower by more than this", percent("--fail-on-regression", true))
    .option("--markdown <file>", "write a markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)")
    .option("--junit <file>", "write JUnit XML, one testcase per comparison")
    .option("--force", "give verdicts on results recorded under emulation (QEMU TCG)")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action((base: string, heads: string[], opts: CompareFlags) => {
      try {
        const report = compareFiles(loadResultFile(base), heads.map(loadResultFile), {
          metrics: opts.metric,
          targetPercent: opts.target,
          force: opts.force === true,
        });
        process.exitCode = emitReport(report, opts);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        console.error(`ringpoll compare: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
