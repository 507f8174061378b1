#!/usr/bin/env node
// The ringpoll CLI. Each subcommand lives in bench/commands/<name>.ts and registers itself here.
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { registerAb } from "./commands/ab.js";
import { registerCompare } from "./commands/compare.js";
import { registerMatrix } from "./commands/matrix.js";
import { registerBench } from "./commands/bench.js";
import { registerCalibrate } from "./commands/calibrate.js";
import { registerOps } from "./commands/ops.js";
import { registerProbe } from "./commands/probe.js";
import { registerReport } from "./commands/report.js";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("ringpoll")
  .description("Real epoll and io_uring for Node.js, and a kernel packets-per-second benchmark")
  .version(pkg.version);

registerProbe(program);
registerBench(program);
registerCompare(program);
registerReport(program);
registerAb(program);
registerCalibrate(program);
registerMatrix(program);
registerOps(program);

await program.parseAsync();
