import { type DatabaseIntrospector, type DatabaseMetadata, type Kysely, PostgresDialect, type SchemaMetadata, sql, type TableMetadata } from 'kysely';

/**
 * Kysely's PostgreSQL introspector lists the tables of every schema and resolves each by
 * name (`has_schema_privilege`, `pg_get_serial_sequence`), so a schema another process
 * drops meanwhile (another deployment or test in the same database) fails the migrator
 * with `schema "…" does not exist`. The migrator only asks whether its own tables exist:
 * this one lists the tables of the connection's schema by catalog ids, without columns.
 */
export class CurrentSchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<any>;

  constructor(db: Kysely<any>) {
    this.#db = db;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const rows = await this.#db.selectFrom('pg_catalog.pg_namespace').select('nspname').execute();
    return rows.map((row: { nspname: string }) => ({ name: row.nspname }));
  }

  async getTables(): Promise<TableMetadata[]> {
    const rows = await this.#db
      .selectFrom('pg_catalog.pg_class as c')
      .innerJoin('pg_catalog.pg_namespace as ns', 'c.relnamespace', 'ns.oid')
      .select(['c.relname as name', 'c.relkind as kind', 'ns.nspname as schema'])
      .where('c.relkind', 'in', ['r', 'v', 'p'])
      .where('ns.nspname', '=', sql<string>`current_schema()`)
      .execute();
    return rows.map((row: { name: string; kind: string; schema: string }) => ({
      name: row.name,
      schema: row.schema,
      isView: row.kind === 'v',
      columns: [],
    }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/** PostgreSQL as Kysely speaks it, introspecting only the connection's schema. */
export class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}
