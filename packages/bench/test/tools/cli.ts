// Runs the built CLI (dist/, `npm run build` first) the way a user or CI job does.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ringpoll(args: string[], env: Record<string, string | undefined> = {}): CliResult {
  // no noise profile from the user's ~/.config unless a test names one
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, RINGPOLL_NOISE_PROFILE: "/nonexistent/noise-profile.json", ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
