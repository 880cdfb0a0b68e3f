/** Job logs (backend-api.md §12; routes/logs.ts, clients/backend/logs.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

/** Log levels (plugins.md §2.3): a leveled log item's `event`. */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A message's context (plugins.md §2.3): how the dashboard shows it. */
export const MESSAGE_CONTEXTS = ['info', 'success', 'warning', 'danger', 'error'] as const;
export type MessageContext = (typeof MESSAGE_CONTEXTS)[number];

/** One item of POST logs/ (always sent as a list). */
export const logItemSchema = z.looseObject({
  event: z.string(),
  data: jsonObject,
  /** `YYYY-MM-DD HH:MM:SS.ffffff`. */
  datetime: z.string().optional(),
  job: z.string().nullable().optional(),
  /** A `data:` URI (the SDK turns a local path into one before sending). */
  file: z.string().nullable().optional(),
});
export type LogItem = z.infer<typeof logItemSchema>;

export const logSchema = z.looseObject({
  id,
  job: z.string().nullable(),
  event: z.string(),
  data: jsonObject,
  datetime: z.string(),
  file: z.string().nullable(),
  created: timestamp,
});
export type Log = z.infer<typeof logSchema>;
