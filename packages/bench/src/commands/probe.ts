import type { Command } from "commander";
import { probe, type IoUringProbe } from "ringpoll";

const WIDTH = 100;

// Words filled into lines of at most WIDTH columns after `label`; continuation lines indented to match.
function fill(label: string, words: string[]): string[] {
  const pad = " ".repeat(label.length);
  const lines: string[] = [];
  let line = label;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = pad;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}

function ioUringLines(io: IoUringProbe): string[] {
  const lines = [`io_uring  ${io.available ? "available" : `unavailable: ${io.reason}`}`];
  const { io_uring_disabled: disabled, io_uring_group: group } = io.sysctl;
  lines.push(
    disabled === null
      ? "  sysctl    no kernel.io_uring_disabled (added in 6.6)"
      : `  sysctl    kernel.io_uring_disabled=${disabled} kernel.io_uring_group=${group}`,
  );
  const { mode, filters } = io.seccomp;
  lines.push(`  seccomp   ${mode === 2 ? `filter (${filters ?? "?"} installed)` : mode === 0 ? "none" : `mode ${mode}`}`);
  if (!io.available) return lines;
  if (io.reason) lines.push(`  note      ${io.reason}`);
  const accepted = Object.entries(io.setupFlags).filter(([, ok]) => ok).map(([name]) => name);
  const refused = Object.entries(io.refusedSetupFlags).map(([name, code]) => `${name} (${code})`);
  lines.push(...fill("  setup     accepted: ", accepted));
  if (refused.length > 0) lines.push(...fill("            refused:  ", refused));
  lines.push(...fill("  features  ", io.features));
  lines.push(...fill(`  opcodes   ${io.opcodes.length}: `, io.opcodes));
  return lines;
}

export function registerProbe(program: Command): void {
  program
    .command("probe")
    .description("describe this host: kernel, CPU (Zen 2, SMAP), Node, liburing, io_uring (setup flags, opcodes, why refused)")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) => {
      const p = probe();
      if (opts.json) {
        console.log(JSON.stringify(p, null, 2));
        return;
      }
      console.log(`kernel    ${p.kernel.release} (${p.kernel.version})`);
      console.log(`cpu       ${p.cpu.vendor} family 0x${p.cpu.family.toString(16)} model 0x${p.cpu.model.toString(16)} — ${p.cpu.modelName}`);
      console.log(`zen2      ${p.cpu.zen2 ? "yes" : "no"}`);
      console.log(`smap      ${p.cpu.smap ? "yes" : "no"}`);
      console.log(`node      ${p.node}`);
      console.log(`liburing  ${p.liburing}`);
      for (const line of ioUringLines(p.ioUring)) console.log(line);
    });
}
