import type { Delivery } from '../../src/core/delivery.js';
import type { Session } from '../../src/core/session.js';

/** A hub session for core-level tests: a user named `id` whose sink records the seqs of the events it is handed. */
export function recordingSession(id: string): Session & { seqs: number[] } {
  const seqs: number[] = [];
  return {
    id,
    seqs,
    principal: { kind: 'user', userId: id, name: id, roles: [] },
    transport: 'test',
    channels: new Set(),
    closed: false,
    sink: {
      deliver(delivery: Delivery) {
        if (delivery.message.type === 'event') seqs.push(delivery.message.event.seq);
      },
    },
  };
}
