/**
 * The Switchboard client SDK for browsers and Node. See docs/client.md. It imports only
 * the shared protocol module (codes and names at run time, everything else as types).
 *
 * @example
 * import { createClient } from './client/src/index.js';
 * const client = createClient({ url: 'ws://localhost:8080/ws', user: 'alice' });
 * await client.subscribe('general', (event) => console.log(event.seq, event.author, event.text));
 * await client.publish('general', 'hello');
 */
export { createClient, SwitchboardClient, type RequestOptions } from './client.js';
export type { ClientOptions, CredentialSource } from './connection.js';
export type { Encoding } from './frames.js';
export type { ChannelDeleted, ClientEvents, ConnectionState, DisconnectInfo, StaleEpoch, Truncated } from './events.js';
export { backoffCeiling, backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { Subscription, type SubscribeOptions, type SubscriptionHandlers } from './subscription.js';
export { socketUrl, type SocketConstructor, type SocketLike } from './web-socket.js';
export { CLOSE_CODES, type CloseCode } from '../../protocol/codes.js';
export { directChannelId, inboxChannelOf, isReservedChannelId } from '../../protocol/names.js';
export type * from './protocol.js';
export { ChatApi } from './chat-api.js';
export { LiveList, type ListHandlers, type ListTarget } from './live-list.js';
export type { UploadOptions, UploadProgress } from './uploads.js';
