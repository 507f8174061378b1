import type { Command } from "commander";
import { probe } from "ringpoll";

export function registerProbe(program: Command): void {
  program
    .command("probe")
    .description("describe this host: kernel, CPU (Zen 2, SMAP), Node, liburing")
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
    });
}
