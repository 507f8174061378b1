import { defineConfig } from "vitest/config";

// Two projects: "native" touches the addons and the kernel (also run under ASan+UBSan in CI),
// "tools" covers the bench/report side.
export default defineConfig({
  test: {
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    testTimeout: 30_000,
    projects: [
      { extends: true, test: { name: "native", include: ["packages/*/test/native/**/*.test.ts"] } },
      { extends: true, test: { name: "tools", include: ["packages/*/test/tools/**/*.test.ts"] } },
    ],
  },
});
