#!/usr/bin/env node
// Builds the native addon. Stops with one line when the platform or liburing is missing.
import { spawnSync } from "node:child_process";

if (process.platform !== "linux") {
  // Nothing to build: importing ringpoll throws a clear error on this platform.
  console.warn(`ringpoll: skipping native build, ringpoll supports Linux only (this is ${process.platform})`);
  process.exit(0);
}

const cxx = process.env.CXX || "c++";
const probe = spawnSync(cxx, ["-x", "c++", "-fsyntax-only", "-"], {
  input: "#include <liburing.h>\nint main() { return 0; }\n",
  encoding: "utf8",
});
if (probe.error || probe.status !== 0) {
  const why = probe.error ? `${cxx} not found` : "liburing headers not found";
  console.error(
    `ringpoll: ${why}; install liburing-dev (Debian/Ubuntu) or liburing-devel (Fedora/RHEL), then reinstall`,
  );
  process.exit(1);
}

// --incremental: reconfigure (picks up new native/*.cpp) and rebuild only what changed, without
// deleting build/ under processes that have the addon loaded. Sanitizer switches need a full rebuild.
const incremental = process.argv.includes("--incremental");
const args = incremental ? ["configure", "build"] : ["rebuild"];
if (process.argv.includes("--debug")) args.push("--debug");
const gyp = spawnSync("node-gyp", args, { stdio: "inherit", shell: false });
if (gyp.error) {
  console.error(`ringpoll: node-gyp not found (${gyp.error.message}); run the build through npm`);
  process.exit(1);
}
process.exit(gyp.status ?? 1);
