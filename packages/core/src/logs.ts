/** Job logs (backend-api.md §12; routes/logs.ts, clients/backend/logs.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

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
