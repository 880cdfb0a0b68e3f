#!/usr/bin/env node
/**
 * Processes a test run left behind. Every process the suite starts inherits the run's marker
 * (`SYNAPSE_TEST_RUN=<id>` in its environment, as it was at exec time) and, under `.ci/run`,
 * the suite's session id; whatever still carries either once the suite has ended outlived it.
 * Survivors are listed, killed and reported as a failure.
 *
 *   node scripts/leftovers.mjs --marker <id> [--session <sid>]   exit 1 when any were found
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The fields after "pid (comm)" of /proc/<pid>/stat: state ppid pgrp session ... (comm may hold spaces). */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * This process and its ancestors: they carry the marker too when the run was started marked (as
 * `.ci/run` starts `npm test`), and they are the run itself, not its leftovers.
 */
function selfAndAncestors() {
  const chain = new Set();
  for (let pid = process.pid; pid > 1 && !chain.has(pid); ) {
    chain.add(pid);
    try {
      pid = Number(statFields(pid)[1]);
    } catch {
      break;
    }
  }
  return chain;
}

/**
 * What says which test started a process: its parent, its working directory and, for a job, the
 * action it runs (names only, never values that could hold a credential).
 */
function describe(pid, fields) {
  const ppid = Number(fields[1]);
  // State, CPU used and age tell a process stuck in a busy loop (a core lost to the rest of the
  // suite) from one asleep, waiting for a parent that never came back.
  const tick = 100; // USER_HZ on Linux
  const cpu = (Number(fields[11]) + Number(fields[12])) / tick;
  const parts = [`state ${fields[0]}, cpu ${cpu.toFixed(1)} s`];
  try {
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    parts.push(`age ${(uptime - Number(fields[19]) / tick).toFixed(0)} s`);
  } catch {}
  try {
    const parent = readFileSync(`/proc/${ppid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    parts.push(`parent ${ppid}: ${parent.slice(0, 120)}`);
  } catch {}
  try {
    parts.push(`cwd ${readlinkSync(`/proc/${pid}/cwd`)}`);
  } catch {}
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    const action = env.find((v) => v.startsWith('SYNAPSE_ACTION_ENTRYPOINT='));
    if (action) parts.push(action);
  } catch {}
  return ` (${parts.join('; ')})`;
}

/** Pids (other than this process and its ancestors) whose environment has `SYNAPSE_TEST_RUN=<marker>` or whose session is `session`. */
export function findLeftovers({ marker, session }) {
  const found = [];
  const run = selfAndAncestors();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || run.has(pid)) continue;
    try {
      const fields = statFields(pid);
      if (fields[0] === 'Z') continue; // already dead, waiting for its parent to reap it
      const inSession = session !== undefined && Number(fields[3]) === session;
      const marked =
        marker !== undefined &&
        readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`SYNAPSE_TEST_RUN=${marker}`);
      if (inSession || marked) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
        found.push({ pid, cmdline: `${cmdline.slice(0, 200)}${describe(pid, fields)}` });
      }
    } catch {
      // gone meanwhile, or another user's process
    }
  }
  return found;
}

/**
 * Waits up to `graceMs` for processes still shutting down, then kills what is left.
 * Returns the survivors (empty when the run cleaned up after itself).
 */
export async function reapLeftovers(options, graceMs = 10_000) {
  const deadline = Date.now() + graceMs;
  let left = findLeftovers(options);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = findLeftovers(options);
  }
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return left;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const marker = arg('--marker');
  const session = arg('--session') === undefined ? undefined : Number(arg('--session'));
  if (marker === undefined && session === undefined) {
    console.error('usage: leftovers.mjs --marker <id> [--session <sid>]');
    process.exit(2);
  }
  const left = await reapLeftovers({ marker, session });
  for (const { pid, cmdline } of left)
    console.error(`left behind by the tests (killed): pid ${pid}: ${cmdline}`);
  process.exit(left.length > 0 ? 1 : 0);
}
