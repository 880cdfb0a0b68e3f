/**
 * What an export reads (plugins.md §14): the three targets, each a listing of the platform and
 * the way one of its records becomes an export item. Every listing streams page by page.
 */
import { isObject } from 'synapse-core';
import type { BackendClient } from '../../clients/backend/index.ts';
import type { PaginatedIterable } from '../../clients/pagination.ts';
import type { QueryParams } from '../../clients/url.ts';

export const EXPORT_TARGETS = ['assignment', 'ground_truth', 'task'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** A data unit's file as the platform lists it (backend-api.md §3): only `url` is certain. */
export interface ExportFile {
  url?: string;
  file_name_original?: string;
  is_primary?: boolean;
  [key: string]: unknown;
}

/** One exported record, in the shape the exporter's hooks receive (`result.files.url`, `result.data`). */
export interface ExportItem {
  /** The record's id (task, assignment or ground-truth event). */
  id: number;
  /** Its annotation data; null when the platform has none (reported as `data is Null`). */
  data: unknown;
  /** The data unit's primary file; null when the record carries none. */
  files: ExportFile | null;
  /** The data unit's `meta` (`filename`, `width`, `height`, ...); `{}` when absent. */
  meta: Record<string, unknown>;
  /** The record as listed, for hooks that need more of it. */
  source: Record<string, unknown>;
}

/** The primary file of a `files` map (or list); else its first file. */
export function primaryFile(files: unknown): ExportFile | null {
  const list = Array.isArray(files) ? files : isObject(files) ? Object.values(files) : [];
  const entries = list.filter(isObject) as ExportFile[];
  return entries.find((f) => f.is_primary === true) ?? entries[0] ?? null;
}

/** A listed record → an export item; a record that is no object becomes an item with no data. */
export function exportItem(record: unknown): ExportItem {
  const source = isObject(record) ? record : {};
  const unit = isObject(source.data_unit) ? source.data_unit : null;
  const files = primaryFile(unit?.files ?? source.files);
  return {
    id: typeof source.id === 'number' ? source.id : Number(source.id),
    data: source.data ?? null,
    files,
    meta: isObject(unit?.meta) ? unit.meta : {},
    source,
  };
}

export interface TargetListing {
  items: AsyncIterable<Record<string, unknown>>;
  count: number;
}

/**
 * Lists a target's records with the user's filters: `expand=data` unless `dataExpand` is false
 * (the action config's `data_expand`); ground truth renames `ground_truth_dataset_version` to the
 * list's `ground_truth_dataset_versions`; tasks embed their data unit, assignment and workshop.
 */
export async function listTarget(
  client: BackendClient,
  target: ExportTarget,
  filters: Record<string, unknown>,
  options: { dataExpand?: boolean; signal?: AbortSignal; pageSize?: number } = {},
): Promise<TargetListing> {
  const params: Record<string, unknown> = { ...filters };
  if (options.dataExpand !== false && params.expand === undefined) params.expand = 'data';
  const opts = { listAll: true as const, signal: options.signal, pageSize: options.pageSize };
  let listing: PaginatedIterable<unknown>;
  if (target === 'assignment') {
    listing = await client.listAssignments(params as QueryParams, opts);
  } else if (target === 'ground_truth') {
    if ('ground_truth_dataset_version' in params) {
      params.ground_truth_dataset_versions = params.ground_truth_dataset_version;
      delete params.ground_truth_dataset_version;
    }
    listing = await client.listGroundTruthEvents(params as QueryParams, opts);
  } else {
    params.expand = ['data_unit', 'assignment', 'workshop'];
    listing = await client.listTasks(params as QueryParams, opts);
  }
  return { items: listing as AsyncIterable<Record<string, unknown>>, count: listing.count };
}
