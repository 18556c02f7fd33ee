#!/usr/bin/env node
// The nodesentry command line: parses the command and runs it.
import { buildInfo } from './build/build-info.js';
import { PROBE_USAGE, probeCommand, type CommandIo } from './cli/probe-command.js';

const USAGE = `nodesentry: watches BSC, DeFiChain and PAI nodes and says which to use

usage: nodesentry <command> [options]

commands:
  serve [--config FILE]      run the service (polling + API); the default without a command
  probe <url> [--chain ...]  probe one node once and print its health sample
  demo [--once]              run the service over a built-in simulated fleet
  simulate [--port N]        run the node simulator on its own (demo fleet or --nodes N)
  help [command]             this text, or a command's options
  version                    print the version and the commit it was built from

Run "nodesentry <command> --help" (or "nodesentry help <command>") for a command's options.`;

const io: CommandIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'probe':
      return probeCommand(rest, io);
    case 'serve':
    case undefined: {
      const { serveCommand } = await import('./cli/serve-command.js');
      return serveCommand(rest, io);
    }
    case 'demo': {
      const { demoCommand } = await import('./cli/demo-command.js');
      return demoCommand(rest, io);
    }
    case 'simulate': {
      const { simulateCommand } = await import('./cli/simulate-command.js');
      return simulateCommand(rest, io);
    }
    case 'help':
    case '--help':
    case '-h':
      return help(rest[0]);
    case 'version':
    case '--version':
    case '-V': {
      const b = buildInfo();
      io.out(`nodesentry ${b.version} (commit ${b.commit}, node ${b.node})`);
      return 0;
    }
    default:
      if (command.startsWith('-')) {
        const { serveCommand } = await import('./cli/serve-command.js');
        return serveCommand(argv, io);
      }
      io.err(`nodesentry: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/** `help [command]`: a command's own usage text, loaded only when asked for. */
async function help(command: string | undefined): Promise<number> {
  switch (command) {
    case undefined:
      io.out(USAGE);
      return 0;
    case 'probe':
      io.out(PROBE_USAGE);
      return 0;
    case 'serve':
      io.out((await import('./cli/serve-command.js')).SERVE_USAGE);
      return 0;
    case 'demo':
      io.out((await import('./cli/demo-command.js')).DEMO_USAGE);
      return 0;
    case 'simulate':
      io.out((await import('./cli/simulate-command.js')).SIMULATE_USAGE);
      return 0;
    default:
      io.err(`nodesentry help: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Last resort: our errors carry safe messages; never print a raw stack to an operator.
    const e = err as { code?: string; message?: string };
    process.stderr.write(`nodesentry: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
