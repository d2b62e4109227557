import type { Transaction } from 'kysely';
import type { AnnotationAppend, AnnotationKind } from '../core/store.js';
import type { Millis } from '../core/types.js';
import type { LogTables } from './schema.js';

/**
 * A module's event kinds in the log (chat: `reaction` and `unreaction`), and what they do
 * to the module's own tables. The store calls `write` inside the append's transaction,
 * under the channels' locks, so the log and the module's tables never drift and two
 * nodes cannot both apply the same change.
 *
 * @example new KyselyStore(database, { annotations: [reactionWriter] })
 */
export interface AnnotationWriter {
  readonly kinds: readonly AnnotationKind[];
  /**
   * The batch's annotations of these kinds, in order, each targeting a message that is
   * there and not deleted. Writes those that change something and returns, for each,
   * whether it did; the others are answered `unchanged` and take no seq.
   */
  write(trx: Transaction<LogTables>, annotations: readonly AnnotationAppend[], now: Millis): Promise<readonly boolean[]>;
}
