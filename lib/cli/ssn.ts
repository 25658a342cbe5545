#!/usr/bin/env node
/**
 * `ssn`: the command-line face of supersimplenet. This file only wires the commands (one module each in
 * commands/) and turns every failure into `error [CODE]: message` + `hint: ...` on stderr, with exit code
 * 1 for failures and 2 for command-line misuse.
 */
import { Command, CommanderError } from 'commander';

import * as benchmarkCommand from './commands/benchmark';
import * as buildCommand from './commands/build';
import * as calibrateCommand from './commands/calibrate';
import * as demoCommand from './commands/demo';
import * as evalCommand from './commands/eval';
import * as exportCommand from './commands/export';
import * as importCommand from './commands/import';
import * as infoCommand from './commands/info';
import * as predictCommand from './commands/predict';
import * as trainCommand from './commands/train';
import * as weightsCommand from './commands/weights';
import { EXIT_USAGE, exitCodeOf, formatError, UsageError } from './format';
import { packageInfo } from './version';

/** Each command module registers itself on the program; later commands (train, eval, ...) join this list. */
const COMMANDS: ReadonlyArray<{ register(program: Command): void }> = [
  demoCommand,
  importCommand,
  exportCommand,
  predictCommand,
  trainCommand,
  calibrateCommand,
  infoCommand,
  weightsCommand,
  buildCommand,
  evalCommand,
  benchmarkCommand,
];

export function buildProgram(): Command {
  const program = new Command('ssn')
    .description('SuperSimpleNet surface-defect detection on libtorch')
    .version(packageInfo().version, '-V, --version')
    .showSuggestionAfterError()
    // Settings made before the commands are added are inherited by them: commander must not exit the
    // process nor print its own errors, so that main() reports every failure the same way.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  for (const command of COMMANDS) command.register(program);
  return program;
}

/** Runs the CLI on `argv` (node, script, args...) and returns the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return reportCommanderError(e, program, argv);
    process.stderr.write(`${formatError(e)}\n`);
    return exitCodeOf(e);
  }
}

/** Help and version end with exit 0; parse errors become usage errors with a pointer to the right help. */
function reportCommanderError(e: CommanderError, program: Command, argv: readonly string[]): number {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
  if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : EXIT_USAGE; // help shown for a missing command
  const names = new Set(program.commands.map((c) => c.name()));
  const command = argv.slice(2).find((a) => names.has(a));
  const usage = new UsageError(e.message.replace(/^error:\s*/, ''), `Run \`ssn ${command ? `${command} ` : ''}--help\` for the usage.`);
  process.stderr.write(`${formatError(usage)}\n`);
  return EXIT_USAGE;
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
