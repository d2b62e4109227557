import type { DirectConversation } from '../../protocol/values.js';
import type { Principal } from '../core/types.js';
import { type ChatContext, clampPage, userOf } from './chat-context.js';

/**
 * Direct conversations (one-to-one and group DMs) with their newest message, newest
 * activity first. The channels themselves are core's (`direct` channels, `dm:a,b`).
 */
export function listDirects(context: ChatContext, principal: Principal, limit = 50): Promise<DirectConversation[]> {
  return context.tables.directConversations(userOf(principal), clampPage(limit));
}
