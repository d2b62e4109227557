import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/**
 * The checked-in .proto files, loaded once. The directory is found relative to this module,
 * so it works from src/ (tests, tsx) and from dist/ (npm start) alike.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

export const SWITCHBOARD_SERVICE = 'switchboard.v1.Switchboard';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** The options the server decodes with; clients built in tests use the same. */
export const LOADER_OPTIONS: Options = {
  includeDirs: [PROTO_DIR],
  // camelCase fields, as JavaScript clients expect; the wire is unaffected.
  keepCase: false,
  // Seqs and times fit in a double for the next 285,000 years.
  longs: Number,
  enums: String,
  // Unset fields stay absent, so `optional` fields (since, text ...) keep their meaning.
  defaults: false,
  oneofs: true,
};

export function loadSwitchboardProtos(): PackageDefinition {
  return loadSync(['switchboard.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);
}
