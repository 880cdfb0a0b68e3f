/**
 * The WebSocket variant of an agent job's log (backend-api.md §14.2, `ray/jobs/{id}/logs/`):
 * the lines so far, then each line the job record gains, as `{"type":"log","message":...}`
 * frames, and `{"type":"complete"}` once the job is final. A job this agent cannot see gets an
 * error frame, as any failure of the real agent's log stream does.
 */
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { consoleLines, isTerminal, watchJob } from '../jobs.ts';

/** The part of a `ws` socket this stream uses. */
export interface LogSocket {
  send(data: string): void;
  close(): void;
  once(event: 'close', listener: () => void): unknown;
}

type Frame = { type: 'log' | 'error' | 'complete'; message?: string };

export async function streamJobLogs(ctx: DevContext, socket: LogSocket, agent: number, id: string) {
  let sent = 0;
  let ended = false;
  const end = (frame?: Frame) => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (frame) socket.send(JSON.stringify(frame));
    socket.close();
  };
  // Lines are only ever appended, so each update sends what lies beyond the lines already sent.
  const push = (job: Doc | null) => {
    if (ended) return;
    if (job?.agent !== agent) return end({ type: 'error', message: 'Not found.' });
    const lines = consoleLines(job.console_logs);
    for (const line of lines.slice(sent)) socket.send(JSON.stringify({ type: 'log', message: line }));
    sent = Math.max(sent, lines.length);
    if (isTerminal(job.status)) end({ type: 'complete' });
  };
  // Subscribe before reading so that no update falls between the read and the subscription.
  const unsubscribe = watchJob(id, push);
  socket.once('close', () => end());
  try {
    push(await ctx.collections.jobs.get(id));
  } catch {
    end({ type: 'error', message: 'Internal server error.' });
  }
}
