/** The `synapse` command. Heavy modules load only when their command runs, so --help is fast. */
import { Command, CommanderError } from 'commander';
import { registerAgent } from './agent.ts';
import { registerDev } from './dev.ts';
import { registerDoctor } from './doctor.ts';
import { registerLogin } from './login.ts';
import { fail } from './output.ts';
import { registerPlugin } from './plugin.ts';
import { registerServe } from './serve.ts';

const program = new Command('synapse')
  .description('Synapse SDK command line: plugins, jobs, and the local platform')
  .option('--debug', 'show stack traces on errors (before the command: synapse --debug plugin run ...)')
  // Options after a command are that command's own (e.g. `plugin publish --debug`).
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

registerLogin(program);
registerAgent(program);
registerDoctor(program);
registerPlugin(program);
registerDev(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; commander has already printed its usage message.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  fail(err, program.opts().debug || process.env.SYNAPSE_DEBUG === '1');
}
