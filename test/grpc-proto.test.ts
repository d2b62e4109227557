import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../protocol/commands.js';
import { SwitchboardError } from '../src/core/errors.js';
import { decodeMessage, encodeMember, encodeMessage } from '../src/transports/grpc/proto-codec.js';
import { type ProtoMessage, type ProtoRpc, protoModel } from '../src/transports/grpc/proto-model.js';
import { renderProto } from '../src/transports/grpc/proto-text.js';
import { section, writeSection } from './helpers/protocol-tables.js';

/**
 * proto/switchboard.proto is generated from protocol/ (`npm run proto`), and the adapter
 * decodes and encodes by the same model. These tests keep the checked-in file, the docs
 * and the generator's proto3 rules from drifting.
 */
const root = new URL('../', import.meta.url);
const PROTO = new URL('proto/switchboard.proto', root);
const GRPC_MD = new URL('docs/grpc.md', root);
const model = protoModel();
const rpc = (name: string): ProtoRpc => model.rpcs.find((r) => r.name === name)!;
const message = (name: string): ProtoMessage => {
  const found = [...model.definitions, ...model.definitions.flatMap(nestedOf)].find((d) => d.name === name);
  if (found?.kind !== 'message') throw new Error(`no message ${name}`);
  return found;
};
const nestedOf = (definition: (typeof model.definitions)[number]): (typeof model.definitions)[number][] =>
  definition.kind === 'message' ? [...definition.nested, ...definition.nested.flatMap(nestedOf)] : [];

describe('proto/switchboard.proto', () => {
  it('is what `npm run proto` generates from the protocol now', () => {
    const checkedIn = readFileSync(PROTO, 'utf8');
    expect(renderProto(model, checkedIn), 'proto/switchboard.proto is out of date: run `npm run proto`').toBe(checkedIn);
  });

  it('has one rpc per command with a gRPC binding, documented with its summary', () => {
    const text = readFileSync(PROTO, 'utf8');
    const rpcs = [...text.matchAll(/^\s*rpc (\w+)\((\w+)\) returns \((stream )?([\w.]+)\);/gm)];
    expect(rpcs.map((m) => m[1])).toEqual(model.rpcs.map((r) => r.name));
    for (const { command, name } of model.rpcs) {
      const summary = COMMANDS[command].summary;
      expect(text, name).toContain(`// ${command}: ${summary.split(' ').slice(0, 4).join(' ')}`);
    }
    expect(rpcs.filter((m) => m[3]).map((m) => m[1])).toEqual(['Subscribe', 'FollowList']);
  });

  it('keeps field and enum numbers of an earlier file, reserves what went away and numbers new fields after', () => {
    const previous = `
message PingResponse {
  reserved 2;
  string gone = 5;
  int64 at = 3;
}
message EventAck {
  reserved 9;
  string seq = 2;
  string channel = 1;
}
enum ChannelType {
  CHANNEL_TYPE_UNSPECIFIED = 0;
  CHANNEL_TYPE_DIRECT = 7;
  CHANNEL_TYPE_GONE = 2;
}`;
    const text = renderProto(model, previous);
    const block = (name: string) => new RegExp(`^(message|enum) ${name} \\{[^]*?^\\}`, 'm').exec(text)![0];
    expect(block('PingResponse')).toBe('message PingResponse {\n  reserved 2, 5;\n  reserved "gone";\n  int64 at = 3;\n}');
    // seq changed type (string -> int64): a new number, the old one reserved; new fields after the highest.
    expect(block('EventAck')).toMatch(/reserved 2, 9;\n  string channel = 1;\n  int64 seq = 10;\n  string id = 11;/);
    expect(block('ChannelType')).toMatch(/reserved 2;\n  reserved "CHANNEL_TYPE_GONE";\n  CHANNEL_TYPE_UNSPECIFIED = 0;\n  CHANNEL_TYPE_PUBLIC = 8;\n  CHANNEL_TYPE_PRIVATE = 9;\n  CHANNEL_TYPE_DIRECT = 7;/);
    // What it wrote is the next run's previous file: nothing moves again.
    expect(renderProto(model, text)).toBe(text);
    // Without an earlier file, fields are numbered in the protocol's order.
    expect(renderProto(model, null)).toMatch(/message SubscribeRequest \{\n  string channel = 1;\n[^}]*optional int64 since = 2;\n[^}]*optional bool presence = 3;\n[^}]*optional int64 epoch = 4;\n\}/);
  });
});

describe('the gRPC codec', () => {
  it('reads proto3 requests as the protocol means them: unset, zero and enum names', () => {
    expect(decodeMessage(rpc('History').request, { channel: 'room', before: 0, after: 0, limit: 0 })).toEqual({ channel: 'room', after: 0 });
    expect(decodeMessage(rpc('History').request, { channel: 'room', before: 7, limit: 20 })).toEqual({ channel: 'room', before: 7, limit: 20 });
    expect(decodeMessage(rpc('CreateChannel').request, { channel: '', channelType: 'CHANNEL_TYPE_PRIVATE', publish: 'PUBLISH_POLICY_UNSPECIFIED' })).toEqual({
      channelType: 'private',
    });
    // No presence: an unsent required field reads as proto3's zero, for the pipeline to judge.
    expect(decodeMessage(rpc('Edit').request, {})).toEqual({ channel: '', seq: 0 });
    expect(decodeMessage(rpc('CreateChannel').request, { channelType: 'CHANNEL_TYPE_NOPE' })).toEqual({ channelType: 'CHANNEL_TYPE_NOPE' });
    expect(decodeMessage(rpc('PublishBatch').request, {})).toEqual({ messages: [] });
    expect(
      decodeMessage(rpc('PublishBatch').request, {
        messages: [{ channel: 'a', text: '', cid: '', data: { structValue: { fields: { n: { numberValue: 1 }, list: { listValue: { values: [{ nullValue: 'NULL_VALUE' }] } } } } } }],
      }),
    ).toEqual({ messages: [{ channel: 'a', data: { n: 1, list: [null] } }] });
    expect(decodeMessage(rpc('SetStatus').request, { status: 'USER_STATUS_AWAY' })).toEqual({ status: 'away' });
    expect(decodeMessage(rpc('FollowList').request, { list: 'LIST_NAME_MEMBERS', channel: 'room', users: [] })).toEqual({ list: 'members', channel: 'room' });
  });

  it('refuses data nested past what protobuf can carry, naming the field', () => {
    let value: unknown = { nullValue: 'NULL_VALUE' };
    for (let i = 0; i < 150; i++) value = { listValue: { values: [value] } };
    let error: unknown;
    try {
      decodeMessage(rpc('PublishBatch').request, { messages: [{ channel: 'a', data: value }] });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(SwitchboardError);
    expect((error as SwitchboardError).message).toBe('Invalid messages.0.data: data nests deeper than 100 levels.');
  });

  it('writes results with null fields unset, enums by name, JSON as Value and unions as oneofs', () => {
    expect(encodeMessage(rpc('Publish').response, { channel: 'c', seq: 2, id: 'x', createdAt: 5, target: null, duplicate: false })).toEqual({
      channel: 'c',
      seq: 2,
      id: 'x',
      createdAt: 5,
      duplicate: false,
    });
    const event = { channel: 'c', seq: 1, kind: 'message', id: 'x', author: null, text: 'hi', data: { a: [true] }, cid: null, replyTo: null, target: null, createdAt: 5, editedAt: null, deletedAt: null };
    expect(encodeMessage(message('Event'), event)).toEqual({
      channel: 'c',
      seq: 1,
      kind: 'EVENT_KIND_MESSAGE',
      id: 'x',
      text: 'hi',
      data: { structValue: { fields: { a: { listValue: { values: [{ boolValue: true }] } } } } },
      createdAt: 5,
    });
    // A kind this .proto does not know yet goes out as UNSPECIFIED rather than failing the call.
    expect(encodeMessage(message('Event'), { ...event, kind: 'poll' }).kind).toBe('EVENT_KIND_UNSPECIFIED');
    const channel = { id: 'c', type: 'public', title: null, topic: null, publish: 'anyone', createdBy: null, createdAt: 1, lastSeq: 0, role: 'member' };
    const member = { channel: 'c', user: 'u', role: 'owner', joinedAt: 1 };
    const state = { user: 'u', name: 'U', status: 'away', lastSeen: null };
    expect(encodeMessage(message('FollowListResult'), { list: 'members', items: [channel, member, state] })).toEqual({
      list: 'LIST_NAME_MEMBERS',
      items: [
        {
          listedChannel: { id: 'c', type: 'CHANNEL_TYPE_PUBLIC', publish: 'PUBLISH_POLICY_ANYONE', createdAt: 1, lastSeq: 0, role: 'MEMBER_ROLE_MEMBER' },
        },
        { member: { channel: 'c', user: 'u', role: 'MEMBER_ROLE_OWNER', joinedAt: 1 } },
        { userState: { user: 'u', name: 'U', status: 'USER_STATUS_AWAY' } },
      ],
    });
    expect(encodeMember(rpc('Subscribe').response, 'list', { type: 'list', list: 'channels', action: 'remove', item: { id: 'gone' } })).toEqual({
      list: { list: 'LIST_NAME_CHANNELS', action: 'LIST_ACTION_REMOVE', item: { listedChannel: { id: 'gone' } } },
    });
    expect(encodeMessage(rpc('GetReactions').response, { reactions: { 3: [{ emoji: '👍', count: 1, users: ['u'] }] } })).toEqual({
      reactions: { 3: { items: [{ emoji: '👍', count: 1, users: ['u'] }] } },
    });
  });
});

describe('docs/grpc.md', () => {
  it('lists every rpc, derived from the bindings', () => {
    if (process.env.UPDATE_DOCS === '1') writeSection(GRPC_MD, 'grpc-rpcs', rpcTable());
    const doc = readFileSync(GRPC_MD, 'utf8');
    expect(section(doc, 'grpc-rpcs'), 'run UPDATE_DOCS=1 npx vitest run test/grpc-proto.test.ts').toBe(rpcTable());
  });

  it('has a grpcurl example of every call in the .proto files', () => {
    const rpcs = ['proto/switchboard.proto', 'proto/grpc/health/v1/health.proto'].flatMap((file) => {
      const text = readFileSync(new URL(file, root), 'utf8');
      const pkg = /^package ([\w.]+);/m.exec(text)![1];
      const service = /^service (\w+)/m.exec(text)![1];
      return [...text.matchAll(/^\s*rpc (\w+)\(/gm)].map((m) => `${pkg}.${service}/${m[1]}`);
    });
    const docs = readFileSync(GRPC_MD, 'utf8');
    const examples = docs.split('\n').filter((line) => line.includes('localhost:50051 '));
    expect(rpcs.length).toBe(model.rpcs.length + 2);
    for (const rpc of rpcs) expect(examples.some((line) => line.includes(rpc)), rpc).toBe(true);
  });
});

/** Every rpc with its command, messages and caller: the table in docs/grpc.md. */
function rpcTable(): string {
  const who = { any: 'user or API key', user: 'user', server: 'API key' } as const;
  const rows = model.rpcs.map(({ name, command, request, response, stream }) => {
    const returns = stream ? `stream \`${response.name}\`` : `\`${response.name}\``;
    return `| [\`${name}\`](#${name.toLowerCase()}) | \`${command}\` | \`${request.name}\` → ${returns} | ${who[COMMANDS[command].caller]} |`;
  });
  return ['| rpc | command | request → response | caller |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
