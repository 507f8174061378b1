// The example CI workflow (docs/examples/bench-gate.yml): valid YAML, valid shell, and every ringpoll
// command and option it names exists in the CLI as built.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { ringpoll } from "./cli.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const path = `${root}docs/examples/bench-gate.yml`;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { "runs-on": string[]; steps: Step[] }>;
}

const doc = parseDocument(readFileSync(path, "utf8"), { prettyErrors: true });
const workflow = doc.toJS() as Workflow;
const steps = Object.values(workflow.jobs ?? {}).flatMap((j) => j.steps);
const runs = steps.filter((s) => s.run).map((s) => s.run!);

/** `npx ringpoll …` invocations, continuation lines joined, split into words. */
function invocations(): string[][] {
  return runs
    .flatMap((script) => script.replace(/\\\n\s*/g, " ").split("\n"))
    .map((line) => line.trim())
    .filter((line) => line.startsWith("npx ringpoll "))
    .map((line) => line.replace(/\s*[>|].*$/, "").split(/\s+/).slice(2));
}

function commandsOf(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]);
}

describe("example workflow", () => {
  it("is YAML without errors or warnings", () => {
    expect(doc.errors.map(String)).toEqual([]);
    expect(doc.warnings.map(String)).toEqual([]);
  });

  it("runs on a self-hosted Linux runner on pushes to main and pull requests", () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(["push", "pull_request"]));
    for (const job of Object.values(workflow.jobs)) expect(job["runs-on"]).toEqual(expect.arrayContaining(["self-hosted", "linux"]));
  });

  it("benches, fetches the baseline, compares with a gate, writes the summary and publishes the baseline", () => {
    const text = runs.join("\n");
    expect(text).toMatch(/ringpoll bench /);
    // recorded apart from its baseline, each side needs several sessions (issue 17): at least three
    expect(text).toMatch(/for i in 1 2 3; do\s+npx ringpoll bench pps .*session-\$i\.json/s);
    expect(text).toMatch(/ringpoll compare .*baseline\/session-\*\.json -- "\$RESULTS"\/session-\*\.json/s);
    expect(text).toMatch(/gh run download .*--name ringpoll-baseline/);
    expect(text).toMatch(/ringpoll compare .*--fail-on-regression \d/s);
    expect(text).toMatch(/--markdown /);
    expect(steps.some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.if?.includes("refs/heads/main"))).toBe(true);
  });

  it("has shell steps that bash accepts", () => {
    for (const script of runs) {
      const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
      expect(r.stderr, script).toBe("");
      expect(r.status).toBe(0);
    }
  });

  it("names only scripts that exist", () => {
    for (const m of runs.join("\n").matchAll(/bash (scripts\/\S+)/g)) expect(existsSync(`${root}${m[1]}`), m[1]).toBe(true);
  });

  it("names only ringpoll commands and options that exist", () => {
    const found = invocations();
    expect(found.length).toBeGreaterThanOrEqual(4);
    const topLevel = commandsOf(ringpoll(["--help"]).stdout);
    for (const words of found) {
      expect(topLevel, words.join(" ")).toContain(words[0]);
      let path = [words[0]];
      let help = ringpoll([...path, "--help"]).stdout;
      if (words[1] && commandsOf(help).includes(words[1])) {
        path = [words[0], words[1]];
        help = ringpoll([...path, "--help"]).stdout;
      }
      // a bare `--` separates compare's base files from its head files
      for (const option of words.filter((w) => w.startsWith("--") && w !== "--")) expect(help, `${path.join(" ")} ${option}`).toContain(`${option} `);
    }
  });
});
