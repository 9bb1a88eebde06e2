/** The benchmark's results: their JSON shape and the tables printed from them. */
import type { AttachmentFigures } from './attachments.ts';
import type { BundleFigures, FirstQueryFigures, InitFigures } from './bundles.ts';
import type { PublishingFigures, SyncFigures } from './changes.ts';
import type { CpuFigures } from './cpu.ts';
import { EVENT_SOURCE_OPERATIONS, type ConnectFigures, type HistoryFigures, type LatencyFigures, type PerOperation, type RoundTripFigures, type SustainedFigures } from './phases.ts';
import type { SearchFigures } from './search.ts';
import { bytes, ms, ratio, table } from './stats.ts';

export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  /** Wall time per phase (s). */
  phaseSeconds?: Record<string, number>;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; release: string; loadAverageAtStart: number[] };
  /** Product settings the benchmark set for the handlers, and why. */
  settings: Record<string, string>;
  /** The counts and limits of this run. */
  plan: Record<string, unknown>;
  runtimeStartupMs: Record<string, number>;
  warmUp?: { conversations: number; messages: number; completed: number; errors: number; durationMs: number };
  roundTrips?: RoundTripFigures[];
  operations?: RoundTripFigures[];
  latency?: LatencyFigures[];
  publishing?: PublishingFigures;
  sync?: SyncFigures;
  sustained?: SustainedFigures | null;
  connects?: ConnectFigures;
  history?: HistoryFigures;
  search?: SearchFigures;
  bundles?: {
    variants: Record<string, BundleFigures[]>;
    init: InitFigures[];
    initRuns: number;
    firstQuery?: FirstQueryFigures;
  };
  attachments?: AttachmentFigures;
}

/** A difference with its sign: +1.20, −0.35. */
function signed(value: number): string {
  return `${value < 0 ? '−' : '+'}${ms(Math.abs(value))}`;
}

function dynamoList(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([operation, count]) => `${operation} ${count}`).join(', ') : '–';
}

function countsRow(label: string, per: PerOperation): string[] {
  return [
    label,
    String(per.postgresRoundTrips),
    per.consumerRoundTrips ? `+${per.consumerRoundTrips}` : '–',
    String(per.dynamodbTotal),
    dynamoList(per.dynamodb),
    String(per.connectionsRequests.POST ?? 0),
    per.sqsSends ? dynamoList(Object.fromEntries(Object.entries(per.sqs).filter(([operation]) => !EVENT_SOURCE_OPERATIONS.has(operation)))) : '0',
    dynamoList(per.framesDelivered),
  ];
}

/** The local event source's SQS calls (Lambda's poller in AWS) in a count window. */
function eventSourceCalls(per: PerOperation): string {
  return dynamoList(Object.fromEntries(Object.entries(per.sqs).filter(([operation]) => EVENT_SOURCE_OPERATIONS.has(operation))));
}

export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const section = (title: string, body: string) => out.push(`\n${title}\n${body}`);
  const m = results.machine;
  out.push(`Benchmark of ${results.startedAt}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node.js ${m.node}, ${m.platform} ${m.release}; load average at start ${m.loadAverageAtStart.join(' ')}; took ${results.durationSeconds} s`);
  if (results.phaseSeconds) out.push(`Phases (s): ${Object.entries(results.phaseSeconds).map(([name, seconds]) => `${name} ${seconds}`).join(', ')}`);

  if (results.latency?.length) {
    section(
      'Send → receive latency (ms; one message in flight per conversation)',
      table(
        ['conversations', 'messages', 'p50', 'p95', 'p99', 'max', 'p99/p50', 'msg/s', 'errors'],
        results.latency.map((row) => [
          String(row.conversations),
          String(row.messages),
          ms(row.latencyMs.p50),
          ms(row.latencyMs.p95),
          ms(row.latencyMs.p99),
          ms(row.latencyMs.max),
          ratio(row.p99OverP50),
          row.messagesPerSecond.toFixed(0),
          String(row.errors),
        ]),
      ),
    );
  }
  if (results.sustained) {
    const s = results.sustained;
    section(
      'Sustained sends (closed loop)',
      table(
        ['conversations', 'duration s', 'messages', 'msg/s', 'frames/s', 'p50', 'p99', 'errors'],
        [[String(s.conversations), (s.durationMs / 1000).toFixed(1), String(s.completed), s.messagesPerSecond.toFixed(0), s.framesPerSecond.toFixed(0), ms(s.latencyMs.p50), ms(s.latencyMs.p99), String(s.errors)]],
      ),
    );
  }
  const cpuRows: string[][] = [];
  const components = new Set<string>();
  const cpuSources: [string, CpuFigures][] = [
    ...(results.latency ?? []).map((row): [string, CpuFigures] => [`latency, ${row.conversations} conversation(s)`, row.cpu]),
    ...(results.sustained ? [[`sustained, ${results.sustained.conversations} conversations`, results.sustained.cpu] as [string, CpuFigures]] : []),
    ...(results.publishing
      ? (['on', 'held', 'off'] as const).map(
          (mode): [string, CpuFigures] => [`publishing ${mode}, ${results.publishing!.load.conversations} conversations`, results.publishing!.load.modes[mode].cpu],
        )
      : []),
    ...(results.connects ? [[`connects, ${results.connects.sockets} at once`, results.connects.cpu] as [string, CpuFigures]] : []),
  ];
  for (const [, cpu] of cpuSources) for (const component of Object.keys(cpu.coresBusy)) components.add(component);
  const columns = [...components].sort((a, b) => (a === 'other processes' ? 1 : b === 'other processes' ? -1 : a.localeCompare(b)));
  for (const [label, cpu] of cpuSources) {
    cpuRows.push([label, cpu.mainThreadBusy.toFixed(2), ...columns.map((component) => (cpu.coresBusy[component] ?? 0).toFixed(2))]);
  }
  if (cpuRows.length) {
    section('CPU during the measurements (cores busy on average; main thread: event-loop utilisation)', table(['run', 'main thread', ...columns], cpuRows));
  }
  if (results.connects) {
    const c = results.connects;
    section(
      'Connects with ?token (all at once)',
      table(
        ['sockets', 'opened', 'failed', 'all open ms', 'connects/s', 'handshake p50', 'p95', 'p99', 'all closed ms'],
        [[String(c.sockets), String(c.opened), String(c.failed), ms(c.openAllMs), c.connectsPerSecond.toFixed(0), ms(c.handshakeMs.p50), ms(c.handshakeMs.p95), ms(c.handshakeMs.p99), ms(c.closeAllMs)]],
      ),
    );
  }
  if (results.history) {
    const h = results.history;
    section(
      `History pages in a conversation of ${h.messages} messages (limit ${h.limit}; ms over ${h.rounds} rounds)`,
      table(
        ['query', 'seqs', 'p50', 'p95', 'p99', 'p50 / page 1'],
        h.queries.map((query, index) => [
          query.label,
          `${query.returned.firstSeq}–${query.returned.lastSeq}`,
          ms(query.latencyMs.p50),
          ms(query.latencyMs.p95),
          ms(query.latencyMs.p99),
          index === 0 ? '1.00×' : ratio(h.ratios[query.label] ?? Number.NaN),
        ]),
      ) +
        `\nStraight in SQL, ${h.sql.depth} messages back: seq range p50 ${ms(h.sql.rangeMs.p50)} ms, OFFSET p50 ${ms(h.sql.offsetMs.p50)} ms (${h.sql.offsetOverRange}× slower)`,
    );
  }
  if (results.search) {
    const f = results.search;
    section(
      `Search (GET /search/messages, limit 20) over ${f.messages} messages; ms over ${f.rounds} rounds`,
      table(
        ['query', 'q', 'in scope', 'matches', 'returned', 'p50', 'p95', 'p99', 'p50 / first'],
        f.queries.map((query, index) => [
          query.label,
          query.q,
          String(query.inScope),
          String(query.matches),
          String(query.returned),
          ms(query.latencyMs.p50),
          ms(query.latencyMs.p95),
          ms(query.latencyMs.p99),
          index === 0 ? '1.00×' : ratio(f.ratios[query.label] ?? Number.NaN),
        ]),
      ),
    );
  }
  if (results.sync) {
    const y = results.sync;
    for (const pass of y.passes) {
      section(
        `Sync pages, ${pass.label} (${pass.messagesInTable} messages in the table); the reader's log ${y.log.changes} changes in ${y.log.transactions} transactions; limit ${y.limit}; ms over ${y.rounds} rounds`,
        table(
          ['since', 'changes', 'hasMore', 'p50', 'p95', 'p99', 'p50 / first', 'p99 / first'],
          pass.queries.map((query, index) => [
            query.label,
            String(query.returned.count),
            String(query.returned.hasMore),
            ms(query.latencyMs.p50),
            ms(query.latencyMs.p95),
            ms(query.latencyMs.p99),
            index === 0 ? '1.00×' : ratio(pass.ratios[query.label]?.p50 ?? Number.NaN),
            index === 0 ? '1.00×' : ratio(pass.ratios[query.label]?.p99 ?? Number.NaN),
          ]),
        ) +
          pass.plans
            .map(
              ({ label, plan }) =>
                `\nPage statement of "${label}" straight in SQL (EXPLAIN ANALYZE, median of 9): execution ${ms(plan.executionMs)} ms, planning ${ms(plan.planningMs)} ms, ${plan.sharedBuffers} buffers; joins ${plan.joins.join(' > ') || '–'}; sequential scans: ${plan.seqScans.join(', ') || 'none'}`,
            )
            .join(''),
      );
    }
    out.push(
      `Seeded ${y.seeded} changes in ${y.seedMs} ms (${y.perTransaction} per transaction; ${y.log.tableRows} rows in the change log); followed the cursor from the start of the log through ${y.walk.pages} pages in ${y.walk.ms} ms: ${y.walk.changes} changes, ${y.walk.distinct} distinct`,
    );
  }
  if (results.publishing) {
    const p = results.publishing;
    const modes = ['on', 'held', 'off'] as const;
    const names = { on: 'on, consumer running', held: 'on, consumer held back', off: 'off (answered in process)' };
    const seq = p.sequential;
    section(
      `Sends with the events queue publishing and without (1 conversation, one message at a time over WebSocket; ${p.blocks} blocks of ${p.sendsPerBlock} per mode, alternating)`,
      table(
        ['publishing', 'sends', 'receive p50', 'p95', 'p99', 'ack p50', 'p95', 'p99', 'Postgres', '+ consumer', 'SQS sends', 'SQS wait ms', 'errors'],
        modes.map((mode) => {
          const row = seq[mode];
          return [
            names[mode],
            String(row.sends),
            ms(row.receiveMs.p50),
            ms(row.receiveMs.p95),
            ms(row.receiveMs.p99),
            ms(row.ackMs.p50),
            ms(row.ackMs.p95),
            ms(row.ackMs.p99),
            String(row.perSend.postgresRoundTrips),
            String(row.perSend.consumerRoundTrips),
            String(row.perSend.sqsSends),
            ms(row.perSend.waitingMs.sqs),
            String(row.errors),
          ];
        }),
      ) +
        `\nack p50 over off: on ${ratio(seq.on.ackMs.p50 / seq.off.ackMs.p50)} (${signed(seq.on.ackMs.p50 - seq.off.ackMs.p50)} ms), held ${ratio(seq.held.ackMs.p50 / seq.off.ackMs.p50)} (${signed(seq.held.ackMs.p50 - seq.off.ackMs.p50)} ms); receive p50: on ${signed(seq.on.receiveMs.p50 - seq.off.receiveMs.p50)} ms, held ${signed(seq.held.receiveMs.p50 - seq.off.receiveMs.p50)} ms` +
        `\n${p.shortCircuited} SendMessageBatch answered in process while off; ${p.heldBack} receives held back from the consumer while held`,
    );
    const l = p.load;
    section(
      `The same under load: ${l.conversations} conversations in closed loops (${p.blocks} blocks of ${l.blockMs / 1000} s per mode, alternating)`,
      table(
        ['publishing', 'messages', 'msg/s', 'p50', 'p99', 'main thread busy', 'main thread ms/message', 'errors'],
        modes.map((mode) => {
          const row = l.modes[mode];
          return [names[mode], String(row.completed), row.messagesPerSecond.toFixed(0), ms(row.latencyMs.p50), ms(row.latencyMs.p99), row.cpu.mainThreadBusy.toFixed(2), ms(row.mainThreadMsPerMessage), String(row.errors)];
        }),
      ) +
        `\nThroughput on ÷ off ${ratio(l.modes.on.messagesPerSecond / l.modes.off.messagesPerSecond)}, held ÷ off ${ratio(l.modes.held.messagesPerSecond / l.modes.off.messagesPerSecond)}; main-thread ms per message on − off ${signed(l.modes.on.mainThreadMsPerMessage - l.modes.off.mainThreadMsPerMessage)} (the consumer included), held − off ${signed(l.modes.held.mainThreadMsPerMessage - l.modes.off.mainThreadMsPerMessage)} (the send's own publishing)`,
    );
  }
  const counted: [string, PerOperation][] = [];
  for (const figures of results.roundTrips ?? []) counted.push([figures.label, figures.perSend]);
  for (const figures of results.operations ?? []) counted.push([figures.label, figures.perSend]);
  if (results.sync) counted.push([`sync page (GET /sync, limit ${results.sync.limit})`, results.sync.perPage]);
  if (results.history) counted.push(['history page (GET …/messages)', results.history.perPage]);
  if (results.search) counted.push(['search (GET /search/messages)', results.search.perSearch]);
  if (results.connects) {
    counted.push(['$connect with ?token', results.connects.perConnect]);
    counted.push(['$disconnect', results.connects.perDisconnect]);
  }
  const countRows = counted.map(([label, per]) => countsRow(label, per));
  const perOperations = counted.map(([, per]) => per);
  if (countRows.length) {
    section(
      'Calls per operation (counted in-process at the client side of each call)',
      table(['operation', 'Postgres round trips', 'queue consumer', 'DynamoDB calls', 'DynamoDB by operation', '@connections posts', 'SQS', 'frames delivered'], countRows),
    );
    section(
      'Time waiting on those calls, per operation (ms, summed over the calls; parallel calls overlap; Postgres includes the consumer)',
      table(
        ['operation', 'Postgres', 'DynamoDB', '@connections', 'SQS sends'],
        countRows.map((row, index) => {
          const per = perOperations[index]!;
          return [row[0]!, ms(per.waitingMs.postgres), ms(per.waitingMs.dynamodb), ms(per.waitingMs.connections), ms(per.waitingMs.sqs)];
        }),
      ),
    );
    for (const [label, per] of counted) {
      const polling = eventSourceCalls(per);
      if (polling !== '–') out.push(`Local event source (Lambda's SQS poller in AWS) during ${label}: ${polling}`);
    }
    for (const [label, per] of counted) {
      if (per.dynamodbTotal > 0) out.push(`DynamoDB calls of ${label}: ${dynamoList(per.dynamodbTargets)}`);
    }
    for (const [label, per] of counted) {
      if (per.postgresStatements.length) {
        out.push(
          `Postgres statements of ${label}: ${per.postgresStatements.map(({ statement, perOperation, consumer }) => `${perOperation} × ${consumer ? '(queue consumer) ' : ''}"${statement}"`).join('; ')}`,
        );
      }
    }
  }
  if (results.bundles) {
    const { variants, init } = results.bundles;
    const deployed = variants.deployed ?? [];
    const external = new Map((variants['sdk-external'] ?? []).map((bundle) => [bundle.entry, bundle]));
    const initOf = new Map(init.map((figures) => [figures.entry, figures]));
    section(
      `Lambda bundles (esbuild, ESM, minified, no source map) and cold init (median of ${results.bundles.initRuns})`,
      table(
        ['entry', 'bundle', 'gzip', 'SDK external', 'gzip ', 'import ms', 'process ms'],
        deployed.map((bundle) => {
          const other = external.get(bundle.entry);
          const timing = initOf.get(bundle.entry);
          return [
            bundle.entry,
            bytes(bundle.bytes),
            bytes(bundle.gzipBytes),
            other ? bytes(other.bytes) : '–',
            other ? bytes(other.gzipBytes) : '–',
            timing ? ms(timing.importMs) : '–',
            timing ? ms(timing.processMs) : '–',
          ];
        }),
      ),
    );
    const sample = deployed.find((bundle) => bundle.entry === 'ws/send-message') ?? deployed[0];
    if (sample) {
      out.push(
        `Largest parts of ${sample.entry}: ${sample.composition
          .slice(0, 8)
          .map((part) => `${part.source} ${bytes(part.bytes)}`)
          .join(', ')}`,
      );
    }
  }
  return out.join('\n');
}
