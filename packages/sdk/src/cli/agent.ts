/** `synapse agent select|show|clear`: the agent other commands use, kept in the config file. */
import type { Command } from 'commander';
import type { Agent } from '../clients/backend/index.ts';
import { configPath, loadCredentials, saveCredentials } from '../clients/credentials.ts';
import { mask, UsageError } from './output.ts';
import { backendFromOptions } from './session.ts';

const listing = (agents: Agent[]) => agents.map((a) => `  ${a.id} ${a.name}`).join('\n');

/** A numbered list on the terminal; asks again until the answer is one of the numbers. */
async function prompt(agents: Agent[]): Promise<Agent> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-D or Ctrl-C closes the input; a pending question would never settle, and the CLI would exit 0.
  const closed = new AbortController();
  rl.once('close', () => closed.abort());
  rl.once('SIGINT', () => rl.close());
  try {
    agents.forEach((a, i) => {
      process.stderr.write(`  ${i + 1}) ${a.name} (id ${a.id}, ${a.status})\n`);
    });
    for (;;) {
      const answer = await rl.question(`Agent [1-${agents.length}]: `, { signal: closed.signal });
      const agent = agents[Number(answer.trim()) - 1];
      if (agent) return agent;
    }
  } catch (err) {
    if (closed.signal.aborted) throw new UsageError('No agent chosen.');
    throw err;
  } finally {
    rl.close();
  }
}

async function choose(agents: Agent[], id: string | undefined): Promise<Agent> {
  if (agents.length === 0) throw new Error('The backend has no agents: install one first.');
  if (id !== undefined) {
    const agent = agents.find((a) => String(a.id) === id);
    if (!agent) throw new Error(`No agent with id ${id}. Available agents (id name):\n${listing(agents)}`);
    return agent;
  }
  if (!process.stdin.isTTY) {
    throw new UsageError(`Choose an agent with --id <id>. Available agents (id name):\n${listing(agents)}`);
  }
  return prompt(agents);
}

async function select(opts: { id?: string }): Promise<void> {
  const client = backendFromOptions({});
  let agents: Agent[];
  try {
    agents = await client.listAgents();
  } finally {
    // Closed before any prompt: the connection need not wait for the person.
    await client.close();
  }
  const agent = await choose(agents, opts.id);
  if (!agent.token) throw new Error(`The backend shows no token for agent ${agent.id} (${agent.name}).`);
  const { id, name, url, token } = agent;
  const path = await saveCredentials({ agent: { id, name, url, token } });
  process.stdout.write(`Selected agent ${name} (id ${id}); saved to ${path}\n`);
}

function show(): void {
  const agent = loadCredentials().agent;
  if (!agent) throw new Error('No agent selected. Run `synapse agent select`.');
  // No agent URL in the output (a project rule): the config file holds it for whoever needs it.
  process.stdout.write(
    `id:    ${agent.id ?? '-'}\nname:  ${agent.name ?? '-'}\ntoken: ${mask(agent.token)}\n` +
      `(saved in ${configPath()})\n`,
  );
}

async function clear(): Promise<void> {
  const agent = loadCredentials().agent;
  if (!agent) {
    process.stdout.write('No agent was selected.\n');
    return;
  }
  // An `undefined` value removes the key; the rest of the file is kept.
  await saveCredentials({ agent: undefined });
  process.stdout.write(`Cleared the selected agent (${agent.name ?? agent.id}).\n`);
}

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('the agent that runs plugins for other commands');
  agent
    .command('select')
    .description('choose an agent of the backend and save it to the config file')
    .option('--id <id>', 'the agent to select (without it: a numbered prompt on a terminal)')
    .action(select);
  agent.command('show').description('print the selected agent (token masked)').action(show);
  agent.command('clear').description('forget the selected agent').action(clear);
}
