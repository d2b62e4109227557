/**
 * The Switchboard client SDK for browsers and Node. See docs/client.md.
 *
 * @example
 * import { createClient } from './client/src/index.js';
 * const client = createClient({ url: 'ws://localhost:8080/ws', user: 'alice' });
 * await client.subscribe('general', (event) => console.log(event.seq, event.author, event.text));
 * await client.publish('general', 'hello');
 */
export {
  createClient,
  SwitchboardClient,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type CredentialSource,
  type DisconnectInfo,
} from './client.js';
export { backoffCeiling, backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { Subscription, type SubscribeOptions, type SubscriptionHandlers } from './subscription.js';
export { socketUrl, type SocketConstructor, type SocketLike } from './web-socket.js';
export { CLOSE_CODES } from '../../src/core/errors.js';
export type * from './protocol.js';
export type * from './chat-protocol.js';
export { ChatApi } from './chat-api.js';
export { LiveList, type ListHandlers, type ListTarget } from './live-list.js';
