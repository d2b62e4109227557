/**
 * CPU per connect of the hub and the modules, sockets aside: one Switchboard node runs in
 * this process and storms of `--users` principals connect through `hub.connect`, with
 * `--concurrency` in flight, then disconnect (bench/lib/inprocess-connects.ts). The first
 * storm of each pair is first connects (the users are stored), the second returning ones.
 *
 *   npm run build && taskset -c 0 npx tsx bench/connect-inprocess.ts [--users 5000] [--storms 6] [--warm 2] [--concurrency 200] [--build dist|src] [--watchers 0] [--crowd]
 *
 * `--watchers N` keeps N other sessions open throughout, each following a users list of
 * one user who never connects (as web clients follow the people they show). `--crowd`
 * makes every storm user a member of one public channel first (an organization's
 * #general); the frames per connect then show what the channel's status traffic costs.
 *
 * What it leaves out (HTTP upgrade, WebSocket handshake, authentication, the welcome
 * write) is the same whatever the modules do, and it is most of what makes the connect
 * scenario's figure swing between runs. The scenario stays the figure to quote; this one
 * tells builds (or a throwaway switch in dist/) apart within a few µs. The first `--warm`
 * storms of each kind are left out of the summary (the JIT compiles the path meanwhile).
 */
import { parseArgs } from 'node:util';
import { runInProcessConnects } from './lib/inprocess-connects.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '5000' },
    storms: { type: 'string', default: '6' },
    warm: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '200' },
    build: { type: 'string', default: 'dist' },
    watchers: { type: 'string', default: '0' },
    crowd: { type: 'boolean', default: false },
  },
});
if (values.build !== 'src' && values.build !== 'dist') {
  console.error(`--build is src or dist, not "${values.build}".`);
  process.exit(1);
}
const storms = Number(values.storms);
const warm = Math.min(Number(values.warm), storms - 1);
const { storms: counts, framesPerConnect } = await runInProcessConnects(
  { users: Number(values.users), storms, concurrency: Number(values.concurrency), build: values.build, watchers: Number(values.watchers), crowd: values.crowd },
  (line) => console.log(line),
);
for (const kind of ['first', 'returning'] as const) {
  const counted = counts.filter((count) => count.kind === kind).slice(warm).map((count) => count.micros).sort((a, b) => a - b);
  const median = counted[Math.floor(counted.length / 2)]!;
  console.log(`${kind}: median ${median.toFixed(1)}, least ${counted[0]!.toFixed(1)} µs of CPU per connect (${counted.length} storms after ${warm} warm)`);
}
// The modules' frames (contacts, own status): none means they did not run.
console.log(`${framesPerConnect.toFixed(2)} frames per connect`);
