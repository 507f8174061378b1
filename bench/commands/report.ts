import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { BadInput, loadResultFile } from "../compare/input.js";
import { percent } from "../cli-args.js";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("one self-contained HTML page with charts (SVG rendered now, no network when viewed) from result files")
    .argument("<files...>", "result files (ringpoll.bench.v1 JSON); the first is the base of the comparisons")
    .requiredOption("--html <file>", "where to write the page")
    .option("--title <text>", "page title", "ringpoll results")
    .option("--target <percent>", "effect size for the runs-needed column", percent("--target", false), 1.5)
    .option("--force", "give verdicts on results recorded under emulation (QEMU TCG)")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (paths: string[], opts: { html: string; title: string; target: number; force?: boolean }) => {
      try {
        // vega is loaded only for this command, so the rest of the CLI starts fast
        const { buildReport } = await import("../report/build.js");
        const html = await buildReport(paths.map(loadResultFile), { title: opts.title, targetPercent: opts.target, force: opts.force === true });
        writeFileSync(opts.html, html);
        console.log(`ringpoll report: wrote ${opts.html}`);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        console.error(`ringpoll report: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
