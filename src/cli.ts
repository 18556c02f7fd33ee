#!/usr/bin/env node
import { probeCommand, type CommandIo } from './cli/probe-command.js';

const USAGE = `nodesentry: watches BSC, DeFiChain and PAI nodes and says which to use

usage: nodesentry <command> [options]

commands:
  serve [--config FILE]      run the service (polling + API); the default without a command
  probe <url> [--chain ...]  probe one node once and print its health sample
  demo [--once]              run the service over a built-in simulated fleet
  simulate [--port N]        run the node simulator on its own (demo fleet or --nodes N)
  help                       this text

Run "nodesentry <command> --help" for a command's options.`;

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
      io.out(USAGE);
      return 0;
    default:
      if (command.startsWith('-')) {
        const { serveCommand } = await import('./cli/serve-command.js');
        return serveCommand(argv, io);
      }
      io.err(`nodesentry: unknown command "${command}"\n\n${USAGE}`);
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
