// ringpoll calibrate: measure how much sessions of this host differ (A/A sessions recorded apart) and
// store it as the host's noise profile, which compare uses when a side has a single session.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { buildProfile } from "../compare/calibrate.js";
import { BadInput, loadResultFile } from "../compare/input.js";
import { defaultProfilePath, saveProfile } from "../compare/profile.js";
import { intRange, positive } from "../cli-args.js";
import { expandFiles } from "./compare.js";

interface CalibrateFlags {
  sessions: number;
  gap: number;
  runs: number;
  duration: number;
  receivers: string;
  dir: string;
  out: string;
}

const cli = fileURLToPath(new URL("../cli.js", import.meta.url));

/** Each session is its own `ringpoll bench pps` process, as a user records them. */
async function record(o: CalibrateFlags): Promise<string[]> {
  mkdirSync(o.dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < o.sessions; i++) {
    if (i > 0) await sleep(o.gap * 1000);
    const out = join(o.dir, `session-${String(i).padStart(2, "0")}.json`);
    const r = spawnSync(process.execPath, [cli, "bench", "pps", "--receivers", o.receivers, "--runs", String(o.runs), "--duration", String(o.duration), "--out", out, "--no-progress"], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) throw new BadInput(`session ${i + 1}: ringpoll bench pps failed: ${(r.stderr ?? "").trim().split("\n").pop()}`);
    console.error(`calibrate: session ${i + 1}/${o.sessions} in ${out}`);
    files.push(out);
  }
  return files;
}

export function registerCalibrate(program: Command): void {
  program
    .command("calibrate")
    .description("measure this host's noise between sessions (A/A sessions recorded apart) and store it as the noise profile compare uses when a side has a single session")
    .argument("[files...]", "result files of A/A sessions already recorded (globs allowed); without files, record --sessions of bench pps")
    .option("--sessions <n>", "sessions to record", intRange("--sessions", 2, 100), 6)
    .option("--gap <seconds>", "pause between sessions (longer = closer to a reboot's spread)", positive("--gap", 86400), 60)
    .option("--runs <n>", "runs per receiver and session", intRange("--runs", 2, 1000), 5)
    .option("--duration <seconds>", "measured seconds per run", positive("--duration", 3600), 1)
    .option("--receivers <list>", "pps receivers to measure", "epoll")
    .option("--dir <dir>", "where recorded sessions go", `results/calibrate-${new Date().toISOString().replace(/[:.]/g, "-")}`)
    .option("--out <file>", "noise profile to write", defaultProfilePath())
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (args: string[], o: CalibrateFlags) => {
      try {
        const files = args.length ? expandFiles(args) : await record(o);
        const profile = buildProfile(files.map(loadResultFile));
        saveProfile(o.out, profile);
        for (const e of profile.entries) {
          console.log(`${e.scenario} ${e.receiver} ${e.metric}: within a session ${(Math.sqrt(e.within) * 100).toFixed(2)} %, between sessions ${(Math.sqrt(e.between) * 100).toFixed(2)} % (${e.sessions} sessions, ${e.runs} runs)`);
        }
        console.log(`noise profile written to ${o.out}`);
      } catch (err) {
        if (!(err instanceof BadInput || err instanceof InvalidArgumentError)) throw err;
        console.error(`ringpoll calibrate: ${err.message}`);
        process.exitCode = 2;
      }
    });
}
