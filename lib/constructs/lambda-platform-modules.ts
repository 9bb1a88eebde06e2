/**
 * Native addons in a function's bundle. esbuild cannot bundle a `.node` binary, so such a
 * dependency is left out of the bundle (NodejsFunction's `nodeModules`) and installed into the
 * bundle's node_modules by `npm ci` from the project's lockfile, at the locked version. The
 * machine that synthesizes is not Lambda (x64 here, often macOS elsewhere): npm installs the
 * optional per-platform packages of the target platform when told it through its os, cpu and
 * libc settings, as sharp's cross-platform installation instructions say
 * (`npm install --os=linux --cpu=arm64 --libc=glibc sharp`). Lambda's Node.js 22 runs on Amazon
 * Linux 2023, glibc, and every ChatFunction is ARM64.
 */
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** npm's settings (as npm_config_* variables of the bundling's `npm ci`) that pick Lambda's platform. */
export const LAMBDA_PLATFORM = { npm_config_os: 'linux', npm_config_cpu: 'arm64', npm_config_libc: 'glibc' } as const;

export function lambdaPlatformModules(modules: readonly string[]): Pick<BundlingOptions, 'nodeModules' | 'environment'> {
  return { nodeModules: [...modules], environment: { ...LAMBDA_PLATFORM } };
}
