// The guest→host protocol of guest-init.sh: on ttyS1, frames of base64 between
// "@@ringpoll begin <name>" and "@@ringpoll end <name>", then "@@ringpoll exit <status>".
// On the console, "@@ringpoll job start" separates boot noise from the job's own output.
// matrix --interleave (serve.ts in the guest, guest.ts on the host): the guest says READY once, the
// host writes "run <round>" per round (anything else, "quit", ends the server); the guest answers
// with the round's frames, an error line when the round failed, and "@@ringpoll done <round> <status>".

export const JOB_START = "@@ringpoll job start";
export const READY = "@@ringpoll ready";
export const DONE = /^@@ringpoll done (\S+) (\d+)\r?$/m;
export const ROUND_ERROR = /^@@ringpoll error (\S+) (.*?)\r?$/m;
/** the job ended: in --interleave, the round server is gone */
export const EXITED = /^@@ringpoll exit (\d+)\r?$/m;

export function frameText(name: string, data: Buffer): string {
  const b64 = data.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return [`@@ringpoll begin ${name}`, ...lines, `@@ringpoll end ${name}`].join("\n") + "\n";
}

export function roundErrorLine(round: string, message: string): string {
  return `@@ringpoll error ${round} ${message.replace(/\s*[\r\n]+\s*/g, " ").trim()}\n`;
}

export function doneLine(round: string, status: number): string {
  return `@@ringpoll done ${round} ${status}\n`;
}

export interface Channel {
  frames: Map<string, Buffer>;
  /** the job's exit status, null when the guest never reported one (panic, hang, killed) */
  exit: number | null;
}

export function parseChannel(text: string): Channel {
  const frames = new Map<string, Buffer>();
  let exit: number | null = null;
  let name: string | null = null;
  let body: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const begin = /^@@ringpoll begin (\S+)$/.exec(line);
    const end = /^@@ringpoll end (\S+)$/.exec(line);
    const done = /^@@ringpoll exit (\d+)$/.exec(line);
    if (begin) {
      name = begin[1]!;
      body = [];
    } else if (end && name === end[1]) {
      frames.set(name, Buffer.from(body.join(""), "base64"));
      name = null;
    } else if (done) {
      exit = Number(done[1]);
    } else if (name !== null) {
      body.push(line.trim());
    }
  }
  return { frames, exit };
}

/** POSIX shell quoting, so the guest's sh sees exactly these arguments. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
