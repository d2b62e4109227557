import { CompiledQuery, type Kysely } from 'kysely';
import { quotedName, type RowsStatement, type RowValues } from './sql-dialect.js';

/**
 * The batch sizes a statement's text is made for: each about 1.5 times the one before, so
 * a batch is padded by a third at most, and a statement has at most this many texts in the
 * statement cache. A larger batch runs as several statements of the largest size.
 */
const SIZES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];
const LARGEST = SIZES.at(-1)!;

/** Each statement's texts, by batch size. */
const texts = new WeakMap<RowsStatement, Map<number, string>>();

/**
 * Runs `statement` over `rows` on SQLite, the rows bound as VALUES, and returns the rows
 * it returned. A batch is made up to the next of a few sizes by repeating its last row, so
 * the statement compiles once per size, not once per batch length (a storm's rounds come in
 * every length, and the statement cache would churn). The rows as VALUES ran in half the
 * time of the same rows as one JSON parameter (a 45-row status upsert: 85 against 155 µs).
 */
export async function runSqliteRows<R>(db: Kysely<any>, statement: RowsStatement, rows: readonly RowValues[]): Promise<R[]> {
  const returned: R[] = [];
  const columns = Object.keys(statement.columns);
  for (let start = 0; start < rows.length; start += LARGEST) {
    const end = Math.min(start + LARGEST, rows.length);
    const size = SIZES.find((candidate) => candidate >= end - start)!;
    const parameters: unknown[] = [];
    for (let i = 0; i < size; i++) {
      const row = rows[Math.min(start + i, end - 1)]!;
      for (const column of columns) parameters.push(row[column] ?? null);
    }
    const result = await db.executeQuery<R>(CompiledQuery.raw(textOf(statement, size), parameters));
    returned.push(...result.rows);
  }
  return returned;
}

function textOf(statement: RowsStatement, size: number): string {
  let bySize = texts.get(statement);
  if (!bySize) texts.set(statement, (bySize = new Map()));
  let text = bySize.get(size);
  if (text === undefined) {
    const names = Object.keys(statement.columns);
    const select = names.map((name, i) => `column${i + 1} as ${quotedName(name)}`).join(', ');
    const row = `(${names.map(() => '?').join(', ')})`;
    const values = Array.from({ length: size }, () => row).join(', ');
    text = `${statement.before} (select ${select} from (values ${values})) as ${quotedName(statement.alias)} ${statement.after}`;
    bySize.set(size, text);
  }
  return text;
}
