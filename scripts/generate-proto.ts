/**
 * `npm run proto`: writes proto/switchboard.proto from protocol/ (commands, bindings,
 * frames). Run it after changing the protocol; test/grpc-proto.test.ts fails until the
 * checked-in file is what this writes. `--check` only reports whether it would change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTO_DIR } from '../src/transports/grpc/proto-definition.js';
import { protoModel } from '../src/transports/grpc/proto-model.js';
import { renderProto } from '../src/transports/grpc/proto-text.js';

const path = join(PROTO_DIR, 'switchboard.proto');
const current = readFileSync(path, 'utf8');
const next = renderProto(protoModel(), current);
if (next === current) {
  console.log(`${path} is up to date.`);
} else if (process.argv.includes('--check')) {
  console.error(`${path} is out of date: run \`npm run proto\`.`);
  process.exitCode = 1;
} else {
  writeFileSync(path, next);
  console.log(`wrote ${path}`);
}
