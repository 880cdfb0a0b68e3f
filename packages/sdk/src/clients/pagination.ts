/** Paginated list responses (client.md §5): one page as a tuple, or every page as a stream. */
import type { ResponseShape } from 'synapse-core';
import type { BaseClient } from './http.ts';
import type { QueryParams } from './url.ts';
import { applyUrlConversion, type UrlConversion } from './url-conversion.ts';

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Items of every page, fetched one page at a time; `count` is the total of the first page. */
export interface PaginatedIterable<T> extends AsyncIterable<T> {
  readonly count: number;
  /** Drains the remaining items into memory. */
  toArray(): Promise<T[]>;
}

export interface ListOptions {
  urlConversion?: UrlConversion;
  /** Read timeout in seconds for each page. */
  timeout?: number;
  signal?: AbortSignal;
  /** The contract's schema of one item, by name, checked on every page when the client checks responses. */
  schema?: ResponseShape;
}

export interface ListAllOptions extends ListOptions {
  pageSize?: number;
}

export const PAGE_SIZE = 100;

/** Checks a page (when the client checks responses); `path` is the list's, never a `next` URL. */
async function checkPage(client: BaseClient, path: string, page: unknown, opts: ListOptions): Promise<void> {
  if (opts.schema) await client.checkResponse(opts.schema, page, `GET ${path}`, true);
}

/** Lists of large collections (ground truth, data units): 100 items a page, 60 s read timeout. */
export const LARGE_LIST = { pageSize: PAGE_SIZE, timeout: 60 };

/** One GET of a paginated endpoint, returned as `[results, count]`. */
export async function listPage<T>(
  client: BaseClient,
  path: string,
  params: QueryParams | undefined,
  opts: ListOptions = {},
): Promise<[T[], number]> {
  const page = await client.get<Page<T>>(path, { params, timeout: opts.timeout, signal: opts.signal });
  await checkPage(client, path, page, opts);
  const results = await applyUrlConversion(page.results, opts.urlConversion, true);
  return [results, page.count];
}

/**
 * Every item of a paginated endpoint. Page 1 is fetched here, once, so `count` is known up front;
 * iteration then follows `next` links verbatim and keeps a single page in memory.
 */
export async function listAll<T>(
  client: BaseClient,
  path: string,
  params: QueryParams | undefined,
  opts: ListAllOptions = {},
): Promise<PaginatedIterable<T>> {
  const request = { timeout: opts.timeout, signal: opts.signal };
  const first = await client.get<Page<T>>(path, {
    ...request,
    params: { ...params, page_size: params?.page_size ?? opts.pageSize ?? PAGE_SIZE },
  });
  await checkPage(client, path, first, opts);
  let consumed = false;
  let firstPage: Page<T> | null = first;

  async function* items(): AsyncGenerator<T> {
    let page = firstPage;
    firstPage = null;
    while (page) {
      yield* await applyUrlConversion(page.results, opts.urlConversion, true);
      if (!page.next || opts.signal?.aborted) return;
      page = await client.get<Page<T>>(page.next, request);
      await checkPage(client, path, page, opts);
    }
  }

  return {
    count: first.count,
    [Symbol.asyncIterator]() {
      if (consumed) throw new Error('PaginatedIterable can only be iterated once');
      consumed = true;
      return items();
    },
    async toArray(this: PaginatedIterable<T>) {
      const all: T[] = [];
      for await (const item of this) all.push(item);
      return all;
    },
  };
}

export interface PaginateOptions extends ListAllOptions {
  listAll?: boolean;
}

/**
 * The body of every mixin `list*` method: a page tuple, or with `listAll` the whole stream.
 * Typed loosely on purpose: each mixin declares the precise overloads in its interface.
 */
export function paginate(
  client: BaseClient,
  path: string,
  params: QueryParams | undefined,
  opts: PaginateOptions = {},
): Promise<any> {
  const { listAll: all, pageSize, ...rest } = opts;
  if (all) return listAll(client, path, params, { ...rest, pageSize });
  const query = pageSize === undefined ? params : { ...params, page_size: params?.page_size ?? pageSize };
  return listPage(client, path, query, rest);
}

/** What a `list*` method returns for these options: a page tuple, or the stream with `listAll: true`. */
export type ListResult<T, O> = O extends { listAll: true } ? PaginatedIterable<T> : [T[], number];
