import type { CommandName, CommandResult } from './commands.js';

/**
 * Where each command lives on each wire. /ws carries every command as a frame named after
 * it; REST and gRPC need a route and a method, listed here next to each other. Where a
 * command makes no sense on a wire, the exception is written once, with the reason, and
 * the parity table in docs/protocol.md is derived from this file (a test checks both).
 * Plain data: the SDK may import it.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RestRoute {
  readonly method: HttpMethod;
  /** `:name` segments are input fields; GET and DELETE take the other fields as query parameters, the rest from a JSON body. */
  readonly path: string;
  /** The success status; 204 sends no body. */
  readonly status: 200 | 201 | 204;
  /** A status chosen from the result (a publish whose cid was stored before: 200, not 201). */
  readonly statusOf?: (result: never) => 200 | 201;
}

export interface GrpcMethod {
  /** The rpc's name in switchboard.v1.Switchboard. */
  readonly rpc: string;
  /** A server-streaming call that is its own session: the command runs, then the call streams pushes until cancelled. */
  readonly stream?: true;
}

/** Why a command is not served on a wire. */
export interface NotServed {
  readonly notServed: string;
}

export interface Binding {
  readonly rest: RestRoute | NotServed;
  readonly grpc: GrpcMethod | NotServed;
}

const NO_CONNECTION_REST: NotServed = {
  notServed: 'A REST request has no connection to push on: stream a channel with SSE (`GET /stream/:channel`, `GET /sse?channels=`).',
};
const NO_LISTS_REST: NotServed = {
  notServed: 'A REST request has no connection to push on: follow live lists over /ws or the gRPC FollowList stream.',
};
const createdUnlessDuplicate = (result: CommandResult<'publish'>) => (result.duplicate ? 200 : 201);

export const BINDINGS: { readonly [N in CommandName]: Binding } = {
  ping: { rest: { method: 'GET', path: '/api/ping', status: 200 }, grpc: { rpc: 'Ping' } },

  'channel.create': { rest: { method: 'POST', path: '/api/channels', status: 201 }, grpc: { rpc: 'CreateChannel' } },
  'channel.get': { rest: { method: 'GET', path: '/api/channels/:channel', status: 200 }, grpc: { rpc: 'GetChannel' } },
  'channel.list': { rest: { method: 'GET', path: '/api/channels', status: 200 }, grpc: { rpc: 'ListChannels' } },
  'channel.update': { rest: { method: 'PATCH', path: '/api/channels/:channel', status: 200 }, grpc: { rpc: 'UpdateChannel' } },
  'channel.delete': { rest: { method: 'DELETE', path: '/api/channels/:channel', status: 204 }, grpc: { rpc: 'DeleteChannel' } },
  'channel.join': { rest: { method: 'POST', path: '/api/channels/:channel/join', status: 200 }, grpc: { rpc: 'JoinChannel' } },
  'channel.leave': { rest: { method: 'POST', path: '/api/channels/:channel/leave', status: 204 }, grpc: { rpc: 'LeaveChannel' } },
  'members.list': { rest: { method: 'GET', path: '/api/channels/:channel/members', status: 200 }, grpc: { rpc: 'ListMembers' } },
  'members.add': { rest: { method: 'POST', path: '/api/channels/:channel/members', status: 201 }, grpc: { rpc: 'AddMember' } },
  'members.remove': {
    rest: { method: 'DELETE', path: '/api/channels/:channel/members/:user', status: 204 },
    grpc: { rpc: 'RemoveMember' },
  },

  subscribe: { rest: NO_CONNECTION_REST, grpc: { rpc: 'Subscribe', stream: true } },
  unsubscribe: {
    rest: NO_CONNECTION_REST,
    grpc: { notServed: 'A gRPC subscription is its Subscribe call: cancel the call to unsubscribe.' },
  },
  publish: {
    rest: { method: 'POST', path: '/api/channels/:channel/messages', status: 201, statusOf: createdUnlessDuplicate },
    grpc: { rpc: 'Publish' },
  },
  'publish.batch': { rest: { method: 'POST', path: '/api/messages/batch', status: 200 }, grpc: { rpc: 'PublishBatch' } },
  push: { rest: { method: 'POST', path: '/api/events', status: 201, statusOf: createdUnlessDuplicate }, grpc: { rpc: 'Push' } },
  edit: { rest: { method: 'PATCH', path: '/api/channels/:channel/messages/:seq', status: 200 }, grpc: { rpc: 'Edit' } },
  delete: { rest: { method: 'DELETE', path: '/api/channels/:channel/messages/:seq', status: 200 }, grpc: { rpc: 'Delete' } },
  history: { rest: { method: 'GET', path: '/api/channels/:channel/messages', status: 200 }, grpc: { rpc: 'History' } },

  presence: { rest: { method: 'GET', path: '/api/channels/:channel/presence', status: 200 }, grpc: { rpc: 'Presence' } },
  typing: { rest: { method: 'POST', path: '/api/channels/:channel/typing', status: 204 }, grpc: { rpc: 'Typing' } },

  'users.get': { rest: { method: 'GET', path: '/api/users/:user', status: 200 }, grpc: { rpc: 'GetUser' } },
  'users.list': { rest: { method: 'GET', path: '/api/users', status: 200 }, grpc: { rpc: 'ListUsers' } },
  'users.update': { rest: { method: 'PATCH', path: '/api/users/:user', status: 200 }, grpc: { rpc: 'UpdateUser' } },
  'users.register': {
    rest: {
      method: 'POST',
      path: '/api/users',
      status: 201,
      statusOf: (result: CommandResult<'users.register'>) => (result.created ? 201 : 200),
    },
    grpc: { rpc: 'RegisterUser' },
  },
  'ticket.create': { rest: { method: 'POST', path: '/api/tickets', status: 201 }, grpc: { rpc: 'CreateTicket' } },
  'users.ban': { rest: { method: 'PUT', path: '/api/users/:user/ban', status: 200 }, grpc: { rpc: 'BanUser' } },
  'users.disconnect': {
    rest: { method: 'POST', path: '/api/users/:user/disconnect', status: 200 },
    grpc: { rpc: 'DisconnectUser' },
  },
  'users.unban': { rest: { method: 'DELETE', path: '/api/users/:user/ban', status: 204 }, grpc: { rpc: 'UnbanUser' } },
  'auth.refresh': {
    rest: { notServed: 'A REST request carries its credentials every time: no session lives on to refresh.' },
    grpc: {
      notServed:
        "A gRPC stream's credentials are its call's metadata: open a new stream with the new token (Subscribe with since) before the old one ends.",
    },
  },

  'dm.list': { rest: { method: 'GET', path: '/api/me/directs', status: 200 }, grpc: { rpc: 'ListDirects' } },
  'contacts.add': { rest: { method: 'PUT', path: '/api/me/contacts/:user', status: 200 }, grpc: { rpc: 'AddContact' } },
  'contacts.remove': { rest: { method: 'DELETE', path: '/api/me/contacts/:user', status: 204 }, grpc: { rpc: 'RemoveContact' } },
  'contacts.list': { rest: { method: 'GET', path: '/api/me/contacts', status: 200 }, grpc: { rpc: 'ListContacts' } },
  'status.set': { rest: { method: 'PUT', path: '/api/me/status', status: 200 }, grpc: { rpc: 'SetStatus' } },
  'read.mark': { rest: { method: 'PUT', path: '/api/channels/:channel/read', status: 200 }, grpc: { rpc: 'MarkRead' } },
  'read.get': { rest: { method: 'GET', path: '/api/channels/:channel/read', status: 200 }, grpc: { rpc: 'GetReadPositions' } },
  catchup: { rest: { method: 'GET', path: '/api/me/catchup', status: 200 }, grpc: { rpc: 'CatchUp' } },
  'reaction.add': {
    rest: { method: 'PUT', path: '/api/channels/:channel/messages/:seq/reactions/:emoji', status: 200 },
    grpc: { rpc: 'AddReaction' },
  },
  'reaction.remove': {
    rest: { method: 'DELETE', path: '/api/channels/:channel/messages/:seq/reactions/:emoji', status: 200 },
    grpc: { rpc: 'RemoveReaction' },
  },
  'reactions.get': { rest: { method: 'GET', path: '/api/channels/:channel/reactions', status: 200 }, grpc: { rpc: 'GetReactions' } },
  thread: { rest: { method: 'GET', path: '/api/channels/:channel/messages/:seq/thread', status: 200 }, grpc: { rpc: 'GetThread' } },
  search: { rest: { method: 'GET', path: '/api/search', status: 200 }, grpc: { rpc: 'Search' } },
  'files.get': { rest: { method: 'GET', path: '/api/files', status: 200 }, grpc: { rpc: 'GetFiles' } },
  'list.subscribe': { rest: NO_LISTS_REST, grpc: { rpc: 'FollowList', stream: true } },
  'list.unsubscribe': {
    rest: NO_LISTS_REST,
    grpc: { notServed: 'A gRPC live list is its FollowList call: cancel the call to stop following.' },
  },

  rpc: { rest: { method: 'POST', path: '/api/rpc', status: 200 }, grpc: { rpc: 'Rpc' } },
};

export function isServed<T extends object>(binding: T | NotServed): binding is T {
  return !('notServed' in binding);
}
