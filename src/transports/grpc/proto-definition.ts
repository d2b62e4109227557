import { join } from 'node:path';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../../package-root.js';

/** The checked-in .proto files, beside package.json. */
export const PROTO_DIR = join(PACKAGE_ROOT, 'proto');

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
