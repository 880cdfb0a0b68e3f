/**
 * The requests the SDK sends do not change unnoticed: the wire scenario (test/wire-scenario.ts:
 * every backend resource family, the agent client, ToTask `file` and `inference` run as a job)
 * runs against its own local platform, and the platform's recording, normalised, must equal
 * test/fixtures/wire-requests.json. The fixture was first recorded before the #13 work and after
 * it, to prove that work left the wire as it was (see the fixture's history).
 *
 * A change that is meant: run `npx tsx scripts/wire-scenario.ts --update`, and review and commit
 * the fixture's diff with the change.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DevServer } from 'synapse-devserver';
import { assert, describe, expect, it } from 'vitest';
import { diffRecordings, formatRecording, runWireScenario, type WirePhase } from '../wire-scenario.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/wire-requests.json', import.meta.url));
const UPDATE = 'npx tsx scripts/wire-scenario.ts --update';

/** Headers that carry a credential: the recorder keeps their names, never their values. */
const CREDENTIAL_HEADERS = [
  'authorization',
  'synapse-access-token',
  'synapse-agent',
  'synapse-user',
  'synapse-tenant',
];

describe('the wire: requests the SDK sends', () => {
  it('are those of the fixture, with no credential in them', async () => {
    let server: DevServer | undefined;
    const actual = await runWireScenario({ onStart: (s) => (server = s) });
    const expected = JSON.parse(await readFile(FIXTURE, 'utf8')) as WirePhase[];

    // No credential of this run is in the recording, and none in the fixture either.
    const text = formatRecording(actual);
    const fixture = formatRecording(expected);
    for (const secret of [server!.credentials.accessToken, server!.credentials.agentToken]) {
      expect(text.includes(secret)).toBe(false);
    }
    for (const phase of [...actual, ...expected]) {
      for (const request of [...phase.requests, ...(phase.unordered ?? [])]) {
        for (const name of CREDENTIAL_HEADERS) {
          if (name in request.headers)
            expect(request.headers[name], `${name} of ${request.path}`).toBe('<redacted>');
        }
      }
    }

    const differences = diffRecordings(expected, actual);
    const message = [
      `The requests the SDK sends differ from ${FIXTURE}:`,
      ...differences,
      `If this change is intended, regenerate the fixture (${UPDATE}) and review its diff.`,
    ].join('\n\n');
    if (differences.length > 0) assert.fail(message);
    // Whatever the request-by-request comparison does not show (key order, say).
    if (text !== fixture) assert.fail(`The recording differs from ${FIXTURE} in form. ${message}`);
  });

  it('differ from a fixture by each request changed, newly sent or no longer sent', async () => {
    const expected = JSON.parse(await readFile(FIXTURE, 'utf8')) as WirePhase[];
    const actual = structuredClone(expected);
    const backend = actual[0]!.requests;
    const changed = structuredClone(backend[1]!);
    backend[1] = { ...changed, query: { ...(changed.query as object), fields: 'id' } };
    backend.splice(4, 0, { method: 'GET', path: '/new/', query: {}, headers: {}, body: null });
    const gone = actual[1]!.requests.splice(2, 1)[0]!;

    expect(diffRecordings(expected, expected)).toEqual([]);
    expect(diffRecordings(expected, actual).map((d) => d.split('\n')[0])).toEqual([
      `backend (requests) #1 changed: ${changed.method} ${changed.path}`,
      'backend (requests) #4: newly sent: GET /new/',
      `agent (requests): no longer sent: ${gone.method} ${gone.path}`,
    ]);
  });
});
