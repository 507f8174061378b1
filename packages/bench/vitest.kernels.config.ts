import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// npm run test:kernels: boots Debian's 6.19 and 7.0 kernels in QEMU (ringpoll matrix) and runs the
// native tests inside. One guest at a time: they share the host's CPUs with everything else.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["packages/bench/test/kernels/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
