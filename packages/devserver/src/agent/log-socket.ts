/**
 * The WebSocket variant of an agent job's log (backend-api.md §14.2, `ray/jobs/{id}/logs/`):
 * the lines so far, then each line the job record gains, as `{"type":"log","message":...}`
 * frames, and `{"type":"complete"}` once the job is final. A job this agent cannot see gets an
 * error frame, as any failure of the real agent's log stream does.
 */
import type { DevContext } from '../context.ts';
import { type FollowEnd, followConsoleLines } from '../jobs.ts';

/** The part of a `ws` socket this stream uses. */
export interface LogSocket {
  send(data: string): void;
  close(): void;
  once(event: 'close', listener: () => void): unknown;
}

type Frame = { type: 'log' | 'error' | 'complete'; message?: string };

const LAST_FRAME: Record<FollowEnd, Frame | null> = {
  complete: { type: 'complete' },
  missing: { type: 'error', message: 'Not found.' },
  failed: { type: 'error', message: 'Internal server error.' },
  stopped: null,
};

export async function streamJobLogs(ctx: DevContext, socket: LogSocket, agent: number, id: string) {
  const follow = followConsoleLines(
    ctx,
    id,
    (lines) => {
      for (const line of lines) socket.send(JSON.stringify({ type: 'log', message: line }));
    },
    (reason) => {
      const frame = LAST_FRAME[reason];
      if (frame) socket.send(JSON.stringify(frame));
      socket.close();
    },
    (job) => job.agent === agent,
  );
  socket.once('close', follow.stop);
  // A failed read has already ended the stream with its error frame.
  await follow.ready.catch(() => {});
}
