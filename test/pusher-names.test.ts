import PusherServer from 'pusher';
import { describe, expect, it } from 'vitest';
import { CHANNEL_ID_PATTERN, isReservedChannelId, PUSHER_SERVER_USER } from '../protocol/names.js';
import {
  parseChannelName,
  refusalToServe,
  toHubChannel,
  toPusherChannel,
} from '../src/transports/pusher/pusher-channel-names.js';
import { isValidChannelAuth, isValidUserAuth } from '../src/transports/pusher/pusher-crypto.js';
import { checkRequestSignature } from '../src/transports/pusher/pusher-request-auth.js';

const APP = { id: '7', key: 'unit-key', secret: 'unit-secret-123', channelPrefix: '', webhooks: [], subscribeHook: null };

describe('Pusher channel names', () => {
  it('classifies every kind, with cache- variants', () => {
    const kinds = (name: string) => {
      const parsed = parseChannelName(name);
      return parsed && [parsed.kind, parsed.cache];
    };
    expect(kinds('news')).toEqual(['public', false]);
    expect(kinds('cache-news')).toEqual(['public', true]);
    expect(kinds('private-x')).toEqual(['private', false]);
    expect(kinds('private-cache-x')).toEqual(['private', true]);
    expect(kinds('presence-cache-x')).toEqual(['presence', true]);
    expect(kinds('private-encrypted-x')).toEqual(['encrypted', false]);
    expect(kinds('private-encrypted-cache-x')).toEqual(['encrypted', true]);
    expect(parseChannelName('#server-to-user-bob')).toMatchObject({ kind: 'user', user: 'bob' });
    for (const bad of ['', 'has space', 'a:b', 'x'.repeat(165), '#server-to-user-', 42, null]) {
      expect(parseChannelName(bad)).toBeNull();
    }
  });

  it('accepts Pusher\'s alphabet and length: _ - = @ , . ; up to 164 characters', () => {
    expect(parseChannelName('a=b;c')).toMatchObject({ kind: 'public' });
    expect(parseChannelName('private-x'.padEnd(164, '='))).toMatchObject({ kind: 'private' });
    expect(parseChannelName('x'.repeat(165))).toBeNull();
  });

  it('maps every Pusher name of an app onto a valid hub id under pusher:<app id>: and back', () => {
    const shared = { id: '1001', channelPrefix: '' };
    const own = { id: '2002', channelPrefix: 'shop:' };
    const longest = { id: 'a'.repeat(64), channelPrefix: 'x:' };
    const names = ['news', 'private-x', 'presence-room.1', 'a=b;c', '=;', '#server-to-user-bob', 'x'.repeat(116), 'y'.repeat(164)];
    for (const app of [shared, own, longest]) {
      const ids = new Set<string>();
      for (const name of names) {
        const ref = toHubChannel(app, parseChannelName(name)!);
        expect(ref.id).toMatch(CHANNEL_ID_PATTERN);
        expect(ref.name).toBe(name);
        ids.add(ref.id);
        const back = toPusherChannel(app, ref.id);
        // Hashed ids (names too long for the hub) read back from the channel's title instead.
        if (ref.id.includes(':hash:')) expect(back).toBeNull();
        else expect(back).toBe(name);
      }
      expect(ids.size).toBe(names.length);
    }
    expect(toHubChannel(shared, parseChannelName('private-orders')!)).toEqual({
      id: 'pusher:1001:private-orders', name: 'private-orders', kind: 'private', createAs: 'private',
    });
    expect(toHubChannel(shared, parseChannelName('a=b;c')!).id).toBe('pusher:1001:a+3Db+3Bc');
    // 12 characters of namespace leave 116 for the name; one more is hashed.
    expect(toHubChannel(shared, parseChannelName('x'.repeat(116))!).id).toBe(`pusher:1001:${'x'.repeat(116)}`);
    expect(toHubChannel(shared, parseChannelName('x'.repeat(117))!).id).toMatch(/^pusher:1001:hash:[A-Za-z0-9_-]{43}$/);
    // Only the app whose users are Switchboard's reaches inboxes.
    expect(toHubChannel(shared, parseChannelName('#server-to-user-bob')!)).toMatchObject({ id: 'user:bob', createAs: null });
    expect(toHubChannel(own, parseChannelName('#server-to-user-bob')!)).toMatchObject({ id: 'pusher:2002:user:bob', createAs: 'private' });
    // Another app's channels, native channels and direct channels have no Pusher name here.
    expect(toPusherChannel(shared, 'pusher:2002:news')).toBeNull();
    expect(toPusherChannel(shared, 'news')).toBeNull();
    expect(toPusherChannel(shared, 'dm:alice,bob')).toBeNull();
    expect(toPusherChannel(own, 'user:bob')).toBeNull();
  });

  it('reserves pusher: for the Pusher transport, and user: and dm: for everyone', () => {
    const pusher = { kind: 'server', userId: PUSHER_SERVER_USER } as const;
    for (const creator of [{ kind: 'user', userId: 'mallory' }, { kind: 'user', userId: PUSHER_SERVER_USER }, { kind: 'server', userId: 'server' }] as const) {
      expect(isReservedChannelId('pusher:1001:private-orders', creator)).toBe(true);
    }
    expect(isReservedChannelId('pusher:1001:private-orders', pusher)).toBe(false);
    expect(isReservedChannelId('user:bob', pusher)).toBe(true);
    expect(isReservedChannelId('dm:a,b')).toBe(true);
    expect(isReservedChannelId('private-orders', { kind: 'user', userId: 'mallory' })).toBe(false);
  });

  it('serves a Pusher channel only from a hub channel the transport made, of the type its name implies', () => {
    const app = { id: '1001', channelPrefix: '' };
    const ref = (name: string) => toHubChannel(app, parseChannelName(name)!);
    expect(refusalToServe(ref('news'), { type: 'public', createdBy: null })).toBeNull();
    expect(refusalToServe(ref('news'), { type: 'private', createdBy: null })).toMatch(/private channel/);
    expect(refusalToServe(ref('private-x'), { type: 'private', createdBy: null })).toBeNull();
    expect(refusalToServe(ref('private-x'), { type: 'public', createdBy: null })).toMatch(/public channel/);
    expect(refusalToServe(ref('presence-x'), { type: 'public', createdBy: null })).not.toBeNull();
    expect(refusalToServe(ref('private-encrypted-x'), { type: 'direct', createdBy: null })).not.toBeNull();
    expect(refusalToServe(ref('#server-to-user-bob'), { type: 'inbox', createdBy: null })).toBeNull();
    expect(refusalToServe(ref('#server-to-user-bob'), { type: 'public', createdBy: null })).not.toBeNull();
    // A user's channel is never served, whatever its type: a squat from before the reservation.
    expect(refusalToServe(ref('private-x'), { type: 'private', createdBy: 'mallory' })).toMatch(/created by mallory/);
  });
});

describe('Pusher signatures', () => {
  const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });

  it('accepts the pusher package signatures over the exact strings, and nothing else', () => {
    const auth = sdk.authorizeChannel('1.2', 'private-a').auth;
    expect(isValidChannelAuth(APP, auth, '1.2', 'private-a')).toBe(true);
    expect(isValidChannelAuth(APP, auth, '1.3', 'private-a')).toBe(false);
    expect(isValidChannelAuth(APP, auth, '1.2', 'private-b')).toBe(false);
    expect(isValidChannelAuth(APP, `other-key:${auth.split(':')[1]}`, '1.2', 'private-a')).toBe(false);
    expect(isValidChannelAuth(APP, undefined, '1.2', 'private-a')).toBe(false);

    const presence = sdk.authorizeChannel('1.2', 'presence-a', { user_id: 'u', user_info: { n: 1, m: 2 } });
    expect(isValidChannelAuth(APP, presence.auth, '1.2', 'presence-a', presence.channel_data)).toBe(true);
    // The same data serialised differently is a different string: refused.
    expect(isValidChannelAuth(APP, presence.auth, '1.2', 'presence-a', '{"user_id":"u","user_info":{"m":2,"n":1}}')).toBe(false);

    const user = sdk.authenticateUser('1.2', { id: 'bob' });
    expect(isValidUserAuth(APP, user.auth, '1.2', user.user_data)).toBe(true);
    expect(isValidUserAuth(APP, user.auth, '1.2', '{"id":"eve"}')).toBe(false);
  });

  it('checks HTTP API request signatures as the pusher package makes them', () => {
    const path = `/apps/${APP.id}/channels`;
    const query = Object.fromEntries(
      new URLSearchParams(sdk.createSignedQueryString({ method: 'GET', path, params: { filter_by_prefix: 'presence-', info: 'user_count' } })),
    );
    expect(checkRequestSignature(APP, { method: 'GET', path, query, body: '' })).toBeNull();
    expect(checkRequestSignature(APP, { method: 'POST', path, query, body: '' })).toMatch(/signature/);
    expect(checkRequestSignature(APP, { method: 'GET', path, query: { ...query, info: 'x' }, body: '' })).toMatch(/signature/);
    expect(checkRequestSignature(APP, { method: 'GET', path, query, body: '' }, Date.now() + 601_000)).toMatch(/auth_timestamp/);
    expect(checkRequestSignature(APP, { method: 'GET', path, query: { ...query, info: ['a', 'b'] }, body: '' })).toMatch(/more than once/);

    const body = '{"name":"e","data":"{}","channels":["a"]}';
    const post = Object.fromEntries(new URLSearchParams(sdk.createSignedQueryString({ method: 'POST', path: `/apps/${APP.id}/events`, body })));
    expect(checkRequestSignature(APP, { method: 'POST', path: `/apps/${APP.id}/events`, query: post, body })).toBeNull();
    expect(checkRequestSignature(APP, { method: 'POST', path: `/apps/${APP.id}/events`, query: post, body: `${body} ` })).toMatch(/body_md5/);
  });
});
