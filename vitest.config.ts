// Root Vitest configuration: two projects. "unit" runs everywhere; "lab" needs root and network
// namespaces (each lab test skips itself with one clear line when they are missing).
import { defineConfig } from 'vitest/config';

const shared = {
  // Packages export their TypeScript sources under the "source" condition, so tests run against src
  // without a build; executables spawned by lab tests use the built dist.
  resolve: { conditions: ['source'] },
};

export default defineConfig({
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'test/**/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
          exclude: ['**/*.lab.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 30_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'lab',
          include: ['packages/*/test/**/*.lab.test.ts', 'test/**/*.lab.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // Lab tests build kernel topologies and start daemons: run files one at a time so two
          // topologies never fight over the 2 cores or over timing.
          fileParallelism: false,
        },
      },
    ],
  },
});
