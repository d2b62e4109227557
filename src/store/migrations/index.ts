import type { ModuleMigrations } from '../database.js';
import * as initial from './0001-initial.js';
import * as retention from './0008-retention.js';
import * as eventAttachments from './0009-event-attachments.js';
import * as topicsAndThreads from './0010-topics-and-threads.js';
import * as channelLifecycle from './0011-channel-lifecycle.js';
import * as userProfiles from './0012-user-profiles.js';

/**
 * The log's migrations (users, channels, members, events; 0008: a channel's retention; 0009:
 * events' attachments; 0010: topics and thread summaries; 0011: channel epochs and
 * archiving; 0012: users' avatar URL and status text). Listed here (not read from disk) so
 * builds and tests agree. The other modules keep theirs: 0002-accounts in src/auth, 0003-chat
 * in src/chat, 0004-webhooks in src/webhooks.
 */
export const logMigrations: ModuleMigrations = () => ({
  '0001-initial': initial,
  '0008-retention': retention,
  '0009-event-attachments': eventAttachments,
  '0010-topics-and-threads': topicsAndThreads,
  '0011-channel-lifecycle': channelLifecycle,
  '0012-user-profiles': userProfiles,
});
