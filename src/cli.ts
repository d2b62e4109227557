#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfig, loadConfig, TRANSPORTS } from './config.js';
import { SwitchboardError } from './core/errors.js';
import { startServer, StartupError } from './server.js';

const { port, host, databaseUrl, auth, grpcPort, logFormat } = defaultConfig;

const HELP = `switchboard: a self-hosted real-time chat and push server

Usage:
  switchboard serve [options]     start a node (what \`npm start\` runs)
  switchboard --help              show this text

Options for serve (each overrides the environment variable in brackets):
  --port N            port to listen on, 0 for any (PORT; default ${port})
  --host ADDR         address to listen on (HOST; default ${host})
  --database URL      sqlite:PATH, a path, or postgres://... (DATABASE_URL;
                      default ${databaseUrl})
  --redis URL         Redis for a cluster; unset: one node (REDIS_URL)
  --auth MODE         open | accounts | jwt (SWITCHBOARD_AUTH; default ${auth})
  --transports LIST   comma list of ${TRANSPORTS.join(',')}, or all
                      (SWITCHBOARD_TRANSPORTS; default all; gRPC listens on GRPC_PORT,
                      default ${grpcPort})
  --config FILE       a JSON file of settings (see docs/configuration.md)
  --event-log PATH    append every event to PATH as JSON lines (SWITCHBOARD_EVENT_LOG)
  --log-format FMT    json | pretty (SWITCHBOARD_LOG_FORMAT; default ${logFormat})
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        host: { type: 'string' },
        database: { type: 'string' },
        redis: { type: 'string' },
        auth: { type: 'string' },
        transports: { type: 'string' },
        config: { type: 'string' },
        'event-log': { type: 'string' },
        'log-format': { type: 'string' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}. See switchboard --help.`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return positionals.length === 0 && !values.help ? 1 : 0;
  }
  if (positionals[0] !== 'serve' || positionals.length > 1) {
    return fail(`Unknown command "${positionals.join(' ')}". See switchboard --help.`);
  }

  try {
    const config = loadConfig({
      file: values.config,
      env: process.env,
      flags: {
        port: values.port,
        host: values.host,
        databaseUrl: values.database,
        redisUrl: values.redis,
        auth: values.auth,
        transports: values.transports,
      },
      overrides: {
        ...(values['event-log'] !== undefined ? { eventLog: { path: values['event-log'] } } : {}),
        ...(values['log-format'] !== undefined ? { logFormat: values['log-format'] as 'json' } : {}),
      },
    });
    const server = await startServer(config);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.close(`server received ${signal}`).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return -1;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError || error instanceof SwitchboardError) {
      return fail(error.message);
    }
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
      return fail(`Cannot listen: ${error.message}.`);
    }
    throw error;
  }
}

function fail(message: string): number {
  process.stderr.write(`switchboard: ${message}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`switchboard: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
