/**
 * What one server remembers between requests besides its database: event channels, caches and
 * work in flight. `startDevServer` creates one per server and the modules that use a part of it
 * reach it through `ctx.state`; no module keeps such state at its top level, so two servers in one
 * process (a test suite, an embedder) never see each other's job changes, tokens or uploads.
 */
import type { Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TokenInfo } from './auth.ts';
import type { PresignedUploadState } from './routes/presigned-upload.ts';

export interface ServerState {
  /** Job changes: one event per job id, carrying the updated document (see `updateJob`). */
  readonly jobChanges: EventEmitter;
  /** The console-log follows open now, ended at shutdown so that closing does not wait for them. */
  readonly consoleFollows: Set<() => void>;
  /**
   * Tokens found once: every request is authenticated and tokens are never revoked, so a token
   * found needs no second query. Unknown tokens are not kept (they may be issued later).
   */
  readonly knownTokens: Map<string, TokenInfo>;
  /** The user token a plugin run calls the serve gateway with, per caller (user id), issued once. */
  readonly runTokens: Map<number, Promise<string>>;
  /** The running MD5 of each chunked upload in progress (rebuilt from its file after a restart). */
  readonly uploadHashes: Map<string, Hash>;
  /** Task creations run one at a time: the tail of that queue. */
  taskCreation: Promise<unknown>;
  /** Pending presigned uploads and their signing key; null until the routes start. */
  presignedUploads: PresignedUploadState | null;
}

export function createServerState(): ServerState {
  return {
    // Every console-log follow and job runner listens on it; their number is bounded by the
    // server's open connections and jobs, not by a fixed listener count.
    jobChanges: new EventEmitter().setMaxListeners(0),
    consoleFollows: new Set(),
    knownTokens: new Map(),
    runTokens: new Map(),
    uploadHashes: new Map(),
    taskCreation: Promise.resolve(),
    presignedUploads: null,
  };
}
