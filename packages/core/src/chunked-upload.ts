/** Chunked uploads (backend-api.md §7; devserver routes/chunked-upload.ts, sdk clients/upload.ts). */
import { z } from 'zod';
import { id, timestamp } from './json.ts';

/** django-chunked-upload's status choices: 1 uploading, 2 complete. */
export const CHUNKED_UPLOAD_STATUS = { uploading: 1, complete: 2 } as const;

/** `GET chunked_upload/<id>/`: an upload's state; `completed_at` is set once it is complete. */
export const chunkedUploadSchema = z.looseObject({
  id: z.union([z.string(), id]),
  /** Where the next chunk goes (and the finishing POST). */
  url: z.string(),
  /** The assembled file's URL once complete, else null. */
  file: z.string().nullable(),
  filename: z.string(),
  /** Bytes received so far. */
  offset: z.number().int(),
  status: z.number().int(),
  created_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
});
export type ChunkedUpload = z.infer<typeof chunkedUploadSchema>;
