import PusherServer from 'pusher';
import { describe, expect, it } from 'vitest';
import {
  mayServe,
  parseChannelName,
  toHubChannel,
  toPusherChannel,
} from '../src/transports/pusher/pusher-channel-names.js';
import { isValidChannelAuth, isValidUserAuth } from '../src/transports/pusher/pusher-crypto.js';
import { checkRequestSignature } from '../src/transports/pusher/pusher-request-auth.js';

const APP = { id: '7', key: 'unit-key', secret: 'unit-secret-123', channelPrefix: '', webhooks: [] };

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

  it('maps Pusher names onto hub channels and back', () => {
    for (const prefix of ['', 'shop:']) {
      for (const name of ['news', 'private-x', 'presence-room.1', '#server-to-user-bob']) {
        const ref = toHubChannel(prefix, parseChannelName(name)!)!;
        expect(toPusherChannel(prefix, ref.id)).toBe(name);
      }
    }
    expect(toHubChannel('', parseChannelName('#server-to-user-bob')!)).toEqual({ id: 'user:bob', createAs: null });
    expect(toHubChannel('shop:', parseChannelName('#server-to-user-bob')!)).toEqual({ id: 'shop:user:bob', createAs: 'private' });
    expect(toHubChannel('', parseChannelName('a=b')!)).toBeNull();
    // Another app's (prefixed) channels and native direct channels have no Pusher name.
    expect(toPusherChannel('', 'shop:news')).toBeNull();
    expect(toPusherChannel('', 'dm:alice,bob')).toBeNull();
    expect(toPusherChannel('shop:', 'news')).toBeNull();
  });

  it('lets a public Pusher name serve only public hub channels', () => {
    expect(mayServe('public', 'public')).toBe(true);
    expect(mayServe('public', 'private')).toBe(false);
    expect(mayServe('public', 'direct')).toBe(false);
    expect(mayServe('private', 'private')).toBe(true);
    expect(mayServe('presence', 'direct')).toBe(false);
    expect(mayServe('user', 'inbox')).toBe(true);
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
