/** Errors answered in the platform's DRF-style bodies (backend-api.md §1.5). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'object' ? JSON.stringify(body) : String(body));
  }
}

export const badRequest = (body: unknown) => new ApiError(400, body);
export const notFound = (detail = 'Not found.') => new ApiError(404, { detail });
export const required = (field: string) => badRequest({ [field]: ['This field is required.'] });
export const invalidChoice = (field: string, value: unknown) =>
  badRequest({ [field]: [`"${value}" is not a valid choice.`] });
export const invalidPk = (field: string, value: unknown) =>
  badRequest({ [field]: [`Invalid pk "${value}" - object does not exist.`] });
