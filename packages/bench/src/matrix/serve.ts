// The round server of matrix --interleave, in the guest: one node process that stays up for the
// whole session and runs the bench in-process for each "run <round>" the host writes on ttyS1, so a
// round costs its measured seconds, not a node start-up under TCG (20–60 s). Usage (the guest's job):
//   node packages/bench/dist/matrix/serve.js bench pps … --out /tmp/ringpoll-result.json
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { ReadStream } from "node:tty";
import { Command } from "commander";
import { registerBench } from "../commands/bench.js";
import { doneLine, frameText, READY, roundErrorLine } from "./channel.js";
import { GUEST_RESULT } from "./job.js";

const CHANNEL = "/dev/ttyS1";

/** Parses the bench arguments once (a bad one ends the server before READY); the job runs the bench once per call. */
async function benchJob(args: string[]): Promise<() => Promise<void>> {
  let job: (() => Promise<void>) | null = null;
  const program = new Command().name("ringpoll");
  registerBench(program, (fn) => {
    job = fn;
  });
  await program.parseAsync(args, { from: "user" });
  if (job === null) throw new Error(`not a bench subcommand that measures: ${args.join(" ")}`);
  return job;
}

/** Runs one round; the result file's bytes, or the error's first line. */
async function round(job: () => Promise<void>): Promise<{ result: Buffer } | { error: string }> {
  rmSync(GUEST_RESULT, { force: true });
  try {
    await job();
    return { result: readFileSync(GUEST_RESULT) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT" && e.path === GUEST_RESULT) return { error: "the bench wrote no result file" };
    return { error: (e.message ?? String(err)).split("\n")[0]! };
  }
}

async function main(): Promise<void> {
  const job = await benchJob(process.argv.slice(2));
  // blocking writes keep frames whole and in order; reads go through libuv's tty handle (its own fd)
  const fd = openSync(CHANNEL, "r+");
  const input = new ReadStream(openSync(CHANNEL, "r"));
  const send = (text: string): void => {
    const data = Buffer.from(text);
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
  };
  send(`${READY}\n`);
  let pending = "";
  let busy = Promise.resolve();
  let quit = false;
  await new Promise<void>((resolve) => {
    input.setEncoding("utf8");
    input.on("data", (chunk: string) => {
      pending += chunk.replace(/\r/g, "\n");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === "" || quit) continue;
        const m = /^run (\S+)$/.exec(line);
        if (!m) {
          quit = true;
          busy = busy.then(resolve);
          continue;
        }
        const r = m[1]!;
        busy = busy.then(async () => {
          const out = await round(job);
          if ("result" in out) send(frameText("result", out.result) + doneLine(r, 0));
          else {
            console.error(`ringpoll matrix guest: round ${r}: ${out.error}`);
            send(roundErrorLine(r, out.error) + doneLine(r, 1));
          }
        });
      }
    });
    input.on("end", () => busy.then(resolve));
  });
  input.destroy();
  closeSync(fd);
}

await main();
