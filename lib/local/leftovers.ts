/**
 * Servers left running by an earlier `npm start` that died without stopping them (killed with
 * SIGKILL, a crash): they hold the data directory, so the next start stops them first. Only a
 * process whose command line names the data directory, and whose parent is no longer a Node.js
 * process (an orphan), is stopped; a runtime that is still running keeps its servers. Needs
 * /proc (Linux); elsewhere nothing is stopped and the start reports the directory as busy.
 */
import { readFile } from 'node:fs/promises';

async function commandLine(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return null;
  }
}

async function parentOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …; comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops process `pid` if it is an orphan whose command line contains every one of `marks`.
 * Sends `signal`, then SIGKILL after `timeoutMs`. Resolves with whether it stopped one.
 */
export async function stopLeftover(pid: number, marks: readonly string[], signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  const command = await commandLine(pid);
  if (command === null || !marks.every((mark) => command.includes(mark))) return false;
  const ppid = await parentOf(pid);
  if (ppid === null) return false;
  const parentCommand = ppid > 1 ? await commandLine(ppid) : null;
  if (parentCommand !== null && /(^|\/)node(\s|$)/.test(parentCommand.split(' ')[0] ?? '')) return false;
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
