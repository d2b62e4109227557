/**
 * @deprecated Left only for the deprecated `chat` kind in broker.ts, which no node sends
 * any more: chat's notices are src/chat/notices.ts and travel as a ModuleNotice. Delete
 * this file together with that kind.
 */
export type ClusterNotice = unknown;
