/**
 * The `synapse` command. Only the module of the command that runs is loaded (with the clients, the
 * plugin framework or the devserver it needs): `synapse --help` lists the others from the summaries
 * below and starts about as fast as Node itself.
 */
import { Command, CommanderError } from 'commander';
import { ENV, envValue } from '../environment.ts';
import { fail } from './output.ts';

type Register = (program: Command) => void;

/**
 * Each command: its line in `synapse --help` (the same as its module's description, which
 * test/cli/plugin.test.ts checks) and its module. The order is the order of the help.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Register> }> = {
  login: {
    summary: 'save the backend URL and access token for other commands',
    load: async () => (await import('./login.ts')).registerLogin,
  },
  agent: {
    summary: 'the agent that runs plugins for other commands',
    load: async () => (await import('./agent.ts')).registerAgent,
  },
  doctor: {
    summary: 'check the config file, the access token and the selected agent',
    load: async () => (await import('./doctor.ts')).registerDoctor,
  },
  plugin: {
    summary: 'create, run and publish plugins; follow their jobs',
    load: async () => (await import('./plugin.ts')).registerPlugin,
  },
  dev: {
    summary: 'run the local Synapse platform (backend API, agent API, storage) on this machine',
    load: async () => (await import('./dev.ts')).registerDev,
  },
  serve: {
    summary:
      "serve a plugin's BaseServeDeployment, or its restapi actions, over HTTP on this machine (local serve gateway)",
    load: async () => (await import('./serve.ts')).registerServe,
  },
};

/** The command a run is for: the first argument that is not an option, or the topic of `help <command>`. */
function requestedCommand(args: string[]): string | undefined {
  const [first, second] = args.filter((arg) => !arg.startsWith('-'));
  const name = first === 'help' ? second : first;
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

const program = new Command('synapse')
  .description('Synapse SDK command line: plugins, jobs, and the local platform')
  // Anywhere on the line (`synapse plugin run x --debug` too): no command has a `--debug` of its own.
  .option('--debug', 'show stack traces on errors')
  .showHelpAfterError()
  .exitOverride();

try {
  const requested = requestedCommand(process.argv.slice(2));
  const register = requested ? await COMMANDS[requested].load() : undefined;
  for (const [name, { summary }] of Object.entries(COMMANDS)) {
    if (name === requested) register?.(program);
    else program.command(name).description(summary);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; commander has already printed its usage message.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  fail(err, program.opts().debug || envValue(process.env, ENV.debug) === '1');
}
