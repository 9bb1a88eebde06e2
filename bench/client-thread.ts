/** The main thread's handle on the client thread (client-worker.ts). */
import { Worker } from 'node:worker_threads';
import type { ClientTasks } from './client-worker.ts';
import type { TaskMap, TaskName, TaskRequest, TaskResponse } from './tasks.ts';

export type { ClientTasks };

export interface ClientThread {
  run<K extends TaskName>(task: K, params: TaskMap[K]['params']): Promise<TaskMap[K]['result']>;
  stop(): Promise<void>;
}

export function startClientThread(): ClientThread {
  // tsx's loader does not reach worker threads by itself: the worker registers it, then loads the TypeScript module.
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./client-worker.ts', import.meta.url).href);
  const worker = new Worker(`import(${api}).then(({ register }) => { register(); return import(${entry}); })`, { eval: true, execArgv: [] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  let crashed: Error | undefined;

  worker.on('message', (response: TaskResponse) => {
    const waiting = pending.get(response.id);
    if (!waiting) return;
    pending.delete(response.id);
    if (response.ok) waiting.resolve(response.result);
    else waiting.reject(new Error(response.error));
  });
  const failAll = (error: Error) => {
    crashed = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => {
    console.error('The client thread failed:', error);
    failAll(error);
  });
  worker.on('exit', (code) => failAll(new Error(`the client thread exited (${code})`)));

  return {
    run(task, params) {
      if (crashed) return Promise.reject(crashed);
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ id, task, params } satisfies TaskRequest);
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}
