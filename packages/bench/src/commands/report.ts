import { statSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { BadInput } from "../compare/input.js";
import { defaultProfilePath, loadProfile } from "../compare/profile.js";
import { percent } from "../cli-args.js";
import { readInputs } from "../report/inputs.js";

/** An --html that names a directory is refused before any work; other write errors after it. */
function checkOutput(path: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // does not exist yet: fine
  }
  if (isDir) throw new BadInput(`cannot write ${path}: EISDIR (a directory; give a file name, e.g. ${path.replace(/\/*$/, "")}/report.html)`);
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("one self-contained HTML page with charts (SVG rendered now, no network when viewed) from result files or folders of them")
    .argument("<paths...>", "result files (ringpoll.bench JSON) or folders of them; a result found in several files is compared with the first file that has it")
    .requiredOption("--html <file>", "where to write the page")
    .option("--title <text>", "page title", "ringpoll results")
    .option("--target <percent>", "effect size for the runs-needed column", percent("--target", false), 1.5)
    .option("--force", "give verdicts on results recorded under emulation (QEMU TCG)")
    .option("--noise-profile <file>", "the host's between-session noise from ringpoll calibrate (default: $RINGPOLL_NOISE_PROFILE or ~/.config/ringpoll/noise-profile.json when it exists)")
    .option("--no-noise-profile", "use no noise profile: files recorded apart (one session each) get no verdict")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (paths: string[], opts: { html: string; title: string; target: number; force?: boolean; noiseProfile?: string | false }) => {
      try {
        checkOutput(opts.html);
        const profilePath = opts.noiseProfile === false ? null : (opts.noiseProfile ?? defaultProfilePath());
        const profile = profilePath === null ? null : loadProfile(profilePath, typeof opts.noiseProfile === "string");
        const inputs = await readInputs(paths);
        // vega is loaded only for this command, so the rest of the CLI starts fast
        const { buildReport } = await import("../report/build.js");
        const html = await buildReport(inputs.files, { title: opts.title, targetPercent: opts.target, force: opts.force === true, profile, notes: inputs.notes });
        try {
          writeFileSync(opts.html, html);
        } catch (err) {
          throw new BadInput(`cannot write ${opts.html}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        for (const n of inputs.notes) console.error(`note: ${n}`);
        console.log(`ringpoll report: wrote ${opts.html}`);
      } catch (err) {
        if (!(err instanceof BadInput)) throw err;
        console.error(`ringpoll report: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
