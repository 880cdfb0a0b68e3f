/** The `synapse` command. Each command group loads its module only when it runs, so --help is fast. */
import { Command } from 'commander';
import { registerDev } from './dev.ts';
import { fail } from './output.ts';

const program = new Command('synapse')
  .description('Synapse SDK command line: plugins, jobs, and the local platform')
  .option('--debug', 'show stack traces on errors')
  .showHelpAfterError();

registerDev(program);

program.parseAsync(process.argv).catch((err) => fail(err, program.opts().debug));
