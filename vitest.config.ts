import { defineConfig } from 'vitest/config';

// Lambda runs Node.js 22; the AWS SDK's notice about Node 20 is noise on dev machines
// (the global setup's own SDK clients included).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * Quiet by default: what tests print (handlers' JSON logs, the emulator's `[local]` lines) is
 * shown only for tests that fail, and the handlers log errors only. `CHAT_TEST_VERBOSE=1 npm test`
 * shows everything.
 */
const verbose = ['1', 'true'].includes(process.env.CHAT_TEST_VERBOSE ?? '');
if (!verbose) process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    silent: verbose ? false : 'passed-only',
  },
});
