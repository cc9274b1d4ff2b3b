import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/temp-root.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs keeps one global engine per process; forks keep test files from sharing it.
    pool: "forks",
    // Test files run side by side: one BLAS thread each.
    env: { SPARSE_VDL_BLAS_THREADS: "1" }
  }
})
