/**
 * Signing and verifying the model token of serve multiplexing (inference.md §5). The token's
 * format (claims, encoding, signing input, shape checks) is the contract's (synapse-core
 * model-token.ts); the HMAC-SHA256 with the backend URL as key is done here, with `node:crypto`,
 * so that the contract needs no Node-only API and verification uses a vetted constant-time compare.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  base64urlOfBytes,
  MultiplexTokenError,
  modelTokenClaims,
  modelTokenClaimsOf,
  modelTokenSigningInput,
  type ServeModelClaims,
  splitModelToken,
} from 'synapse-core';

// Re-exported where the SDK always exported them.
export { MultiplexTokenError, modelIdOfClaims, type ServeModelClaims } from 'synapse-core';

export function createServeMultiplexedModelId(
  modelId: number | string,
  token: string,
  backendUrl: string,
  tenant?: string | null,
): string {
  const signingInput = modelTokenSigningInput(modelTokenClaims(modelId, token, tenant));
  return `${signingInput}.${base64urlOfBytes(sign(signingInput, backendUrl))}`;
}

/** Verifies the token against `backendUrl` and returns its claims; throws `MultiplexTokenError`. */
export function decodeServeMultiplexedModelId(jwt: string, backendUrl: string): ServeModelClaims {
  const { signingInput, payload, signature } = splitModelToken(jwt);
  if (!backendUrl) throw new MultiplexTokenError('HMAC key must not be empty.');
  const expected = sign(signingInput, backendUrl);
  const actual = Buffer.from(signature, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new MultiplexTokenError('signature verification failed');
  }
  return modelTokenClaimsOf(payload);
}

function sign(signingInput: string, backendUrl: string): Buffer {
  if (!backendUrl) throw new Error('HMAC key must not be empty.');
  return createHmac('sha256', Buffer.from(backendUrl, 'utf8')).update(signingInput, 'ascii').digest();
}
