import { ConfigError, defaultConfig, loadConfig, TRANSPORTS } from '../config.js';
import { defineCommand, fail } from './command.js';
import { failEach } from './settings.js';

const { port, host, databaseUrl, auth, grpcPort, logFormat } = defaultConfig;

export const serveCommand = defineCommand({
  name: 'serve',
  args: '',
  summary: 'start a node (what `npm start` runs)',
  help: `Starts a node and serves until SIGTERM or SIGINT, then drains and exits.

Options (each overrides the environment variable in brackets):
  --port N            port to listen on, 0 for any (PORT; default ${port})
  --host ADDR         address to listen on (HOST; default ${host})
  --database URL      sqlite:PATH, a path, or postgres://... (DATABASE_URL;
                      default ${databaseUrl})
  --redis URL         Redis for a cluster; unset: one node (REDIS_URL)
  --auth MODE         open | accounts | jwt (SWITCHBOARD_AUTH; default ${auth})
  --transports LIST   comma list of ${TRANSPORTS.join(',')}, or all
                      (SWITCHBOARD_TRANSPORTS; default all; gRPC listens on GRPC_PORT,
                      default ${grpcPort})
  --config FILE       a file of settings, JSON with comments (switchboard config
                      init writes one; docs/configuration.md lists them)
  --event-log PATH    append every event to PATH as JSON lines (SWITCHBOARD_EVENT_LOG)
  --log-format FMT    json | pretty (SWITCHBOARD_LOG_FORMAT; default ${logFormat})
`,
  options: {
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
  positionals: [0, 0],
  async run({ values }) {
    // Loaded here, not at the top, so the other commands start without the whole server.
    const [{ startServer, StartupError, listenFailure }, { SwitchboardError }, grpc] = await Promise.all([
      import('../server.js'),
      import('../core/errors.js'),
      import('@grpc/grpc-js'),
    ]);
    // grpc-js prints its own line for a failed bind before the node can report it; the node
    // reports what went wrong (in one sentence, as for HTTP). GRPC_VERBOSITY still turns it on.
    if (process.env.GRPC_VERBOSITY === undefined) grpc.setLogVerbosity(grpc.logVerbosity.NONE);
    let config;
    try {
      config = loadConfig({
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
      // Resolves once the node has drained; a second signal while draining changes nothing.
      return await new Promise<number>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          server.close(`server received ${signal}`).then(
            () => resolve(0),
            () => resolve(1),
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
    } catch (error) {
      if (error instanceof ConfigError) return failEach(error.problems);
      if (error instanceof StartupError || error instanceof SwitchboardError) return fail(error.message);
      const listen = config && error instanceof Error && 'code' in error && listenFailure('HTTP', config.host, config.port, String(error.code));
      if (listen) return fail(listen);
      throw error;
    }
  },
});
