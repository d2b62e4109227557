import Echo from 'laravel-echo';
import { afterEach, describe, expect, it } from 'vitest';
import { Pusher, pusherJsOptions, pusherServerSdk, signedChannelAuthorization, within } from './helpers/pusher-js.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const APP = { id: '4004', key: 'echo-key', secret: 'echo-secret-0123456789' };
const echoes: Echo<'pusher'>[] = [];
afterEach(() => {
  for (const echo of echoes.splice(0)) echo.disconnect();
});

/** Laravel Echo as a Laravel app configures it, with /broadcasting/auth played by the pusher SDK. */
function connectEcho(server: TestServer, user: { id: string; name: string }): Echo<'pusher'> {
  const sdk = pusherServerSdk(server, APP);
  const client = new Pusher(APP.key, {
    ...pusherJsOptions(server),
    channelAuthorization: signedChannelAuthorization(sdk, { user_id: user.id, user_info: { name: user.name } }, '/broadcasting/auth'),
  });
  const echo = new Echo({ broadcaster: 'pusher', key: APP.key, client });
  echoes.push(echo);
  return echo;
}

describe('Laravel Echo over the Pusher protocol', () => {
  it('listens on a private channel, and joins a presence channel with here, joining and whispers', async () => {
    const server = await startTestServer({ overrides: { pusher: { apps: [APP] } } });
    const sdk = pusherServerSdk(server, APP);
    const alice = connectEcho(server, { id: '1', name: 'Alice' });
    const bob = connectEcho(server, { id: '2', name: 'Bob' });

    const shipped = within(
      new Promise((resolve) => alice.private('orders.7').listen('OrderShipped', resolve)),
      'OrderShipped',
    );
    await within(
      new Promise<void>((resolve) => alice.connector.pusher.channel('private-orders.7').bind('pusher:subscription_succeeded', () => resolve())),
      'private subscription',
    );
    // What Laravel's pusher broadcaster sends for `broadcast(new OrderShipped($order))`.
    await sdk.trigger('private-orders.7', 'App\\Events\\OrderShipped', { order: { id: 7 } });
    expect(await shipped).toEqual({ order: { id: 7 } });

    const here = within(
      new Promise<{ id: string; name: string }[]>((resolve) => alice.join('room.1').here(resolve)),
      'here',
    );
    expect(await here).toEqual([{ name: 'Alice' }]);
    const joining = within(new Promise((resolve) => alice.join('room.1').joining(resolve)), 'joining');
    const typing = within(new Promise((resolve) => alice.join('room.1').listenForWhisper('typing', resolve)), 'whisper');
    const bobHere = within(new Promise<unknown[]>((resolve) => bob.join('room.1').here(resolve)), 'bob here');
    expect(await bobHere).toHaveLength(2);
    expect(await joining).toEqual({ name: 'Bob' });
    bob.join('room.1').whisper('typing', { name: 'Bob' });
    expect(await typing).toEqual({ name: 'Bob' });
  });
});
