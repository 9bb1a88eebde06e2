/**
 * Runs the manifest's scheduled tasks on timers, as EventBridge rules do in AWS, with a
 * Scheduled Event shaped like EventBridge's. A failing run is logged and the next one runs anyway.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledTask } from '#config/routes';
import type { LambdaHost } from './lambda.ts';
import type { EmulatorLog } from './log.ts';

export interface Scheduler {
  stop(): void;
}

export function startScheduler(options: {
  tasks: readonly ScheduledTask[];
  lambdas: LambdaHost;
  log: EmulatorLog;
  region: string;
  accountId: string;
}): Scheduler {
  const { lambdas, log } = options;
  const timers = options.tasks.map((task) => {
    let running = false;
    const run = async () => {
      if (running) return; // never overlap runs of one task
      running = true;
      try {
        const outcome = await lambdas.invoke(
          { name: task.name, entry: task.entry },
          {
            version: '0',
            id: randomUUID(),
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: options.accountId,
            time: new Date().toISOString(),
            region: options.region,
            resources: [`arn:aws:events:${options.region}:${options.accountId}:rule/${task.name}`],
            detail: {},
          },
        );
        if (outcome.status !== 'ok' && outcome.status !== 'missing') {
          log.error(`scheduled task ${task.name} failed (${outcome.status})`, 'error' in outcome ? outcome.error : undefined);
        }
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void run(), task.localEverySeconds * 1000);
    timer.unref();
    return timer;
  });
  return {
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
