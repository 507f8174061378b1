// `--junit file`: one testcase per comparison, so CI systems show regressions as failed tests.
import type { CompareReport } from "./files.js";
import { failsGate } from "./gate.js";
import { describeResult } from "./match.js";
import { pct, resolutionSentence, verdictSentence } from "./format.js";
import { sideLabels } from "./labels.js";

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Without a gate threshold every significant regression is a failure. */
export function reportJunit(report: CompareReport, thresholdPercent = 0): string {
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const cases = report.comparisons.map((c) => {
    const labels = sideLabels(c);
    const sentence = verdictSentence(c, labels.head, labels.base);
    const out = [sentence, resolutionSentence(c)].filter(Boolean).join("\n");
    let body = "";
    if (c.badInput) {
      errors++;
      body = `<error message="${xml(sentence)}"/>`;
    } else if (c.verdict === "no verdict") {
      skipped++;
      body = `<skipped message="${xml(sentence)}"/>`;
    } else if (failsGate(c, thresholdPercent)) {
      failures++;
      body = `<failure message="${xml(`regression of ${pct(c.regressionPercent!)} % (threshold ${thresholdPercent} %): ${sentence}`)}"/>`;
    }
    return `    <testcase classname="ringpoll.compare.${xml(c.scenario)}" name="${xml(`${describeResult(c)} ${c.metric}`)}">${body}<system-out>${xml(out)}</system-out></testcase>`;
  });
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ringpoll compare" ${counts}>`,
    `  <testsuite name="ringpoll compare" ${counts}>`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
