import { defineCommand, fail } from './command.js';
import { SETTINGS_HELP, SETTINGS_OPTIONS, settingsOf } from './settings.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  args: '',
  summary: "run every module's database migrations, then exit",
  help: `Brings the configured database up to this release: runs the migrations of every module
(the log, accounts, chat, webhooks, ...) that it has not run yet, in order, and exits.
Prints how many migrations the database has run and the newest, so two runs at once
(they take turns) both print the same truth.

Nodes also migrate when they start (one at a time on PostgreSQL); run this first when a
rolling upgrade should find the schema ready, so no serving node ever migrates. A
database that a newer release migrated further is refused: roll forward, not back.

Options:
${SETTINGS_HELP}`,
  options: { ...SETTINGS_OPTIONS },
  positionals: [0, 0],
  async run({ values }) {
    const config = settingsOf(values);
    if (typeof config === 'number') return config;
    // Loaded here: the module list lives with the composition root that serves with it.
    const [{ MIGRATIONS, describeDatabase }, { openDatabase }] = await Promise.all([
      import('../server.js'),
      import('../store/open-database.js'),
    ]);
    const where = describeDatabase(config.databaseUrl);
    let database;
    try {
      // As `serve` opens it: the migrations are exempt from the query timeout, the queries after them are not.
      database = await openDatabase(config.databaseUrl, MIGRATIONS, { queryTimeoutMs: config.postgres.queryTimeoutMs });
    } catch (error) {
      return fail(`Cannot migrate ${where}: ${(error as Error).message.replace(/\.$/, '')}.`);
    }
    try {
      // What the database has run, read after the migrations (which take turns under a
      // lock): true even when another node or run migrated it at the same moment.
      const rows = await database
        .tables<{ kysely_migration: { name: string } }>()
        .selectFrom('kysely_migration')
        .select('name')
        .orderBy('name')
        .execute();
      process.stdout.write(`${where} is migrated: ${rows.length} migrations, the newest ${rows.at(-1)?.name ?? 'none'}.\n`);
    } finally {
      await database.close();
    }
    return 0;
  },
});
