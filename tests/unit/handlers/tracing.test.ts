/**
 * Tracing is on only in a Lambda execution environment, unless POWERTOOLS_TRACE_ENABLED is false,
 * and nowhere does it install the X-Ray SDK's async hooks (cls-hooked), which every promise would
 * then pay for. Each case imports the observability module in a fresh process, since the decision
 * is taken once, when the module is first imported.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tracingEnabled } from '#handlers/shared/observability';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MODULE = pathToFileURL(path.join(ROOT, 'functions/handlers/shared/observability.ts')).href;

/** Imports the module with `env`; answers whether a tracer exists, whether an async-hook namespace was created, and whether clients are captured. */
function importWith(env: Record<string, string>): { tracer: boolean; xrayNamespace: boolean; traced: boolean } {
  const script = [
    `const { tracer, traced } = await import(${JSON.stringify(MODULE)});`,
    // A client whose middleware stack tells whether X-Ray's capture was added to it.
    'let captured = false;',
    "traced({ send: async () => ({}), config: { region: 'us-east-1' }, middlewareStack: { add() { captured = true; } } });",
    'process.stdout.write(JSON.stringify({ tracer: tracer !== undefined, xrayNamespace: Boolean(process.namespaces?.AWSXRay), traced: captured }));',
  ].join('\n');
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', POWERTOOLS_SERVICE_NAME: 'tracing-test', ...env },
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { tracer: boolean; xrayNamespace: boolean; traced: boolean };
}

const LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_LAMBDA_FUNCTION_NAME: 'chat-test', AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' };

describe('tracing', () => {
  it('is on in a Lambda execution environment, off outside one, under SAM local, or when switched off', () => {
    expect(tracingEnabled(LAMBDA)).toBe(true);
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingEnabled({ ...LAMBDA, AWS_SAM_LOCAL: 'true' })).toBe(false);
  });

  it('captures AWS SDK clients where tracing is on, without async hooks', () => {
    expect(importWith(LAMBDA)).toEqual({ tracer: true, xrayNamespace: false, traced: true });
  }, 30_000);

  it('neither traces nor captures anything where tracing is off', () => {
    expect(importWith({})).toEqual({ tracer: false, xrayNamespace: false, traced: false });
    expect(importWith({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' })).toEqual({ tracer: false, xrayNamespace: false, traced: false });
  }, 30_000);
});
