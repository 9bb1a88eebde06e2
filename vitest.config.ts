import { defineConfig } from 'vitest/config';

// Lambda runs Node.js 22; the AWS SDK's notice about Node 20 is noise on dev machines
// (the global setup's own SDK clients included).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
