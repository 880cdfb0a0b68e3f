/** JSON building blocks every family uses. */
import { z } from 'zod';

export type JsonObject = Record<string, unknown>;

/**
 * A plain JSON object (not null, not a list). The one guard the SDK, the devserver and the
 * plugins share, so "is this a dict?" is decided in a single place.
 */
export function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A free-form JSON object field (`metrics`, `configuration`, `data`, ...). */
export const jsonObject = z.record(z.string(), z.unknown());

/** Primary keys of the integer-keyed resources. */
export const id = z.number().int();

/** ISO 8601 timestamps as the server writes them. */
export const timestamp = z.string();
