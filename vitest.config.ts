import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

// Two programs, two runtimes: origin tests run in Node (one forked process per file, because
// embedded chDB binds one data directory per process); edge tests run inside workerd against a real
// origin that test/support/origin-global-setup.ts starts on a random loopback port.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "origin",
          include: ["test/origin/**/*.test.ts", "test/contract/**/*.test.ts"],
          environment: "node",
          pool: "forks",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Faults, fuzzing and attacks (docs/reliability.md). `npm test` runs them at a quick scale;
        // `npm run test:faults` sets RELIABILITY_FULL=1 for the full scale (≥10,000 fuzz cases per
        // endpoint, longer storms).
        test: {
          name: "reliability",
          include: ["test/faults/**/*.test.ts", "test/fuzz/**/*.test.ts", "test/security/**/*.test.ts"],
          environment: "node",
          pool: "forks",
          testTimeout: 600_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The real OONI clients (miniooni, oohelperd built from probe-cli) against the whole system
        // and loopback stand-ins (docs/interop.md). Not in `vitest run`'s default projects' time
        // budget by accident: `npm run test:interop` runs it, and .ci/run runs it after `npm test`.
        test: {
          name: "interop",
          include: ["test/interop/**/*.test.ts"],
          environment: "node",
          pool: "forks",
          // One file at a time: the files share /etc/hosts and fixed ports on their own loopback addresses.
          fileParallelism: false,
          globalSetup: ["test/interop/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./edge/src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                // The default bridge-config file, pointed at the test origin and fake helpers (globalSetup).
                BRIDGE_CONFIG: inject("bridgeConfig"),
                // Same URL as the configuration's origin.url (an override binding); tests may read it.
                ORIGIN_URL: inject("originUrl"),
                EDGE_SHARED_SECRET: inject("edgeSecret"),
              },
            },
          })),
        ],
        test: {
          name: "edge",
          include: ["test/edge/**/*.test.ts"],
          globalSetup: ["test/support/origin-global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
