/** The shapes of names and ids, defined once in the protocol (the SDK uses the same ones). */
export {
  CHANNEL_ID_PATTERN,
  directChannelId,
  inboxChannelOf,
  isReservedChannelId,
  MAX_DIRECT_MEMBERS,
  USER_ID_PATTERN,
} from '../../protocol/names.js';
