import { type Kysely, sql } from 'kysely';

/**
 * A channel's topic, and the thread summary a root message keeps (its number of replies,
 * the newest one's seq and time), written with each reply so history carries it without a
 * count. Threads made before this migration are counted once here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('topic', 'text').execute();
  await db.schema
    .alterTable('events')
    .addColumn('reply_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('events').addColumn('last_reply_seq', 'bigint').execute();
  await db.schema.alterTable('events').addColumn('last_reply_at', 'bigint').execute();
  // Replies are found through chat's events_by_reply index (channel, reply_to, seq), made by 0003.
  const replies = (select: ReturnType<typeof sql>) =>
    sql`(select ${select} from events r where r.channel = events.channel and r.reply_to = events.seq and r.kind = 'message')`;
  await sql`
    update events set
      reply_count = ${replies(sql`count(*)`)},
      last_reply_seq = ${replies(sql`max(r.seq)`)},
      last_reply_at = ${replies(sql`max(r.created_at)`)}
    where kind = 'message' and exists ${replies(sql`1`)}
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('last_reply_at').execute();
  await db.schema.alterTable('events').dropColumn('last_reply_seq').execute();
  await db.schema.alterTable('events').dropColumn('reply_count').execute();
  await db.schema.alterTable('channels').dropColumn('topic').execute();
}
