/**
 * Proves the migrated database is what prisma/schema.prisma describes. The expected model comes
 * from Prisma's own schema parser (getDMMF), never from hand-copied expectations; the actual one
 * from pg_catalog. Both are rendered as one SQL-ish line per object, so a failure reads like a
 * diff: "missing from the database", "not in schema.prisma", or "schema.prisma says … the
 * database has …".
 */
import { readFile } from 'node:fs/promises';
import internals from '@prisma/internals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, withClient, type TestDatabase } from '#tests/support/postgres';

// A CommonJS package: Node's ESM loader cannot see its named exports, the default import works everywhere.
const { getDMMF } = internals;

type Datamodel = Awaited<ReturnType<typeof getDMMF>>['datamodel'];
type DmmfModel = Datamodel['models'][number];
type DmmfField = DmmfModel['fields'][number];

const schemaPath = new URL('../../../prisma/schema.prisma', import.meta.url);

/** One line per database object: "table X column Y" → "integer NOT NULL DEFAULT 0". */
type SchemaModel = Map<string, string>;

// ---------------------------------------------------------------------------------------------
// Expected: from schema.prisma through Prisma's parser, named and typed as Prisma migrate would.
// ---------------------------------------------------------------------------------------------

/** Postgres's identifier limit; Prisma truncates generated constraint names to fit it. */
const MAX_IDENTIFIER_BYTES = 63;

/** Prisma's default index / constraint name: `<table>_<columns>_<suffix>`, truncated to fit. */
function prismaConstraintName(table: string, columns: readonly string[], suffix: 'key' | 'idx' | 'fkey'): string {
  const base = `${table}_${columns.join('_')}`;
  const limit = MAX_IDENTIFIER_BYTES - suffix.length - 1;
  return `${truncateBytes(base, limit)}_${suffix}`;
}

function prismaPrimaryKeyName(table: string): string {
  return `${truncateBytes(table, MAX_IDENTIFIER_BYTES - 5)}_pkey`;
}

function truncateBytes(text: string, maxBytes: number): string {
  let out = '';
  for (const char of text) {
    if (Buffer.byteLength(out + char) > maxBytes) break;
    out += char;
  }
  return out;
}

/** Identifiers in the rendered model: always quoted, so both sides agree without keyword rules. */
function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An identifier as pg_get_expr() prints it inside a default: quoted unless plain lower case. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** `@db.X(args)` as format_type() prints it. Unknown native types fail loudly rather than pass. */
function nativeTypeSql([name, args]: readonly [string, readonly string[]]): string {
  const withArgs = (sqlName: string, suffix = '') => `${sqlName}${args.length ? `(${args.join(',')})` : ''}${suffix}`;
  // Prisma's default precision for time types is 3.
  const precision = args[0] ?? '3';
  switch (name) {
    case 'Text': return 'text';
    case 'VarChar': return withArgs('character varying');
    case 'Char': return withArgs('character');
    case 'Uuid': return 'uuid';
    case 'Inet': return 'inet';
    case 'Citext': return 'citext';
    case 'Xml': return 'xml';
    case 'Integer': return 'integer';
    case 'SmallInt': return 'smallint';
    case 'BigInt': return 'bigint';
    case 'Oid': return 'oid';
    case 'DoublePrecision': return 'double precision';
    case 'Real': return 'real';
    case 'Decimal': return withArgs('numeric');
    case 'Money': return 'money';
    case 'Boolean': return 'boolean';
    case 'Date': return 'date';
    case 'Timestamp': return `timestamp(${precision}) without time zone`;
    case 'Timestamptz': return `timestamp(${precision}) with time zone`;
    case 'Time': return `time(${precision}) without time zone`;
    case 'Timetz': return `time(${precision}) with time zone`;
    case 'Json': return 'json';
    case 'JsonB': return 'jsonb';
    case 'ByteA': return 'bytea';
    default:
      throw new Error(`The drift check does not know @db.${name} yet; teach nativeTypeSql() how Postgres prints it.`);
  }
}

function columnTypeSql(field: DmmfField, enumNames: Map<string, string>): string {
  if (field.isList) throw new Error(`The drift check does not handle list field ${field.name} yet.`);
  if (field.kind === 'enum') return q(enumNames.get(field.type) ?? field.type);
  if (field.nativeType) return nativeTypeSql(field.nativeType);
  const sql = SCALAR_TYPES[field.type];
  if (!sql) throw new Error(`The drift check does not know scalar type ${field.type} (field ${field.name}).`);
  return sql;
}

/** The column default as pg_get_expr() prints what Prisma migrate creates; undefined for none. */
function columnDefaultSql(field: DmmfField, table: string, column: string, typeSql: string): string | undefined {
  const value = field.default;
  if (value === undefined || field.isUpdatedAt) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'name' in value) {
    switch (value.name) {
      // Generated by the Prisma client, not the database.
      case 'cuid':
      case 'uuid':
      case 'nanoid':
      case 'ulid':
        return undefined;
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'autoincrement':
        return `nextval(${quoteLiteral(quoteIdent(`${table}_${column}_seq`))}::regclass)`;
      case 'dbgenerated':
        return value.args[0] === undefined ? undefined : String(value.args[0]);
      default:
        throw new Error(`The drift check does not know @default(${value.name}()) on ${table}.${column} yet.`);
    }
  }
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return value < 0 ? `${quoteLiteral(String(value))}::${typeSql}` : String(value);
  if (typeof value === 'string') {
    if (field.kind === 'enum') return `${quoteLiteral(value)}::${quoteIdent(typeSql.slice(1, -1))}`;
    if (field.type === 'Json' || field.type === 'String') return `${quoteLiteral(value)}::${typeSql}`;
  }
  throw new Error(`The drift check does not know the default ${JSON.stringify(value)} on ${table}.${column} yet.`);
}

const REFERENTIAL_ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

function indexColumnsSql(columns: readonly { column: string; desc: boolean }[]): string {
  return columns.map(({ column, desc }) => `${q(column)}${desc ? ' DESC' : ''}`).join(', ');
}

/**
 * An `Unsupported("…")` field: the DMMF leaves these out (its indexes still name them), so they
 * are read from the schema's text. A stored generated column says so in its documentation with a
 * line `generated: <expression>`, the expression as pg_get_expr() prints it.
 */
interface UnsupportedField {
  model: string;
  name: string;
  type: string;
  optional: boolean;
  generated: string | undefined;
}

function unsupportedFields(schema: string): UnsupportedField[] {
  const fields: UnsupportedField[] = [];
  for (const [, model, body] of schema.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    let docs: string[] = [];
    for (const line of body!.split('\n').map((l) => l.trim())) {
      if (line.startsWith('///')) {
        docs.push(line.slice(3).trim());
        continue;
      }
      const field = /^(\w+)\s+Unsupported\("([^"]+)"\)(\?)?\s*(.*)$/.exec(line);
      if (field) {
        const [, name, type, optional, attributes] = field;
        if (attributes) throw new Error(`The drift check does not handle attributes on Unsupported field ${model}.${name} yet: ${attributes}`);
        const generated = docs.find((doc) => doc.startsWith('generated:'))?.slice('generated:'.length).trim();
        fields.push({ model: model!, name: name!, type: type!, optional: optional === '?', generated });
      }
      docs = [];
    }
  }
  return fields;
}

function expectedModel(datamodel: Datamodel, unsupported: readonly UnsupportedField[] = []): SchemaModel {
  const model: SchemaModel = new Map();
  const enumNames = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableOf = new Map(datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));
  const columnOf = (modelName: string, fieldName: string) => {
    const field = datamodel.models.find((m) => m.name === modelName)?.fields.find((f) => f.name === fieldName);
    if (field) return field.dbName ?? field.name;
    if (unsupported.some((u) => u.model === modelName && u.name === fieldName)) return fieldName;
    throw new Error(`No field ${modelName}.${fieldName} in the DMMF`);
  };

  for (const field of unsupported) {
    const table = tableOf.get(field.model);
    if (!table) throw new Error(`No model ${field.model} for Unsupported field ${field.name}`);
    model.set(
      `table ${table} column ${field.name}`,
      `${field.type}${field.optional ? '' : ' NOT NULL'}${field.generated ? ` GENERATED ALWAYS AS (${field.generated}) STORED` : ''}`,
    );
  }

  for (const e of datamodel.enums) {
    model.set(`enum ${e.dbName ?? e.name}`, `ENUM (${e.values.map((v) => quoteLiteral(v.dbName ?? v.name)).join(', ')})`);
  }

  for (const m of datamodel.models) {
    if (m.schema) throw new Error(`The drift check does not handle multiple schemas yet (model ${m.name}).`);
    const table = tableOf.get(m.name)!;
    model.set(`table ${table}`, 'TABLE');

    for (const field of m.fields) {
      if (field.kind === 'object') continue;
      if (field.kind === 'unsupported') throw new Error(`The drift check does not handle Unsupported field ${field.name}.`);
      const column = field.dbName ?? field.name;
      const type = columnTypeSql(field, enumNames);
      const defaultSql = columnDefaultSql(field, table, column, type);
      model.set(
        `table ${table} column ${column}`,
        `${type}${field.isRequired ? ' NOT NULL' : ''}${defaultSql === undefined ? '' : ` DEFAULT ${defaultSql}`}`,
      );
    }

    for (const field of m.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue;
      const columns = field.relationFromFields.map((name) => columnOf(m.name, name));
      const refTable = tableOf.get(field.type)!;
      const refColumns = (field.relationToFields ?? []).map((name) => columnOf(field.type, name));
      const fromFieldsRequired = field.relationFromFields.every(
        (name) => m.fields.find((f) => f.name === name)?.isRequired,
      );
      // Prisma's defaults: Restrict for a required relation, SetNull for an optional one; Cascade on update.
      const onDelete = field.relationOnDelete ?? (fromFieldsRequired ? 'Restrict' : 'SetNull');
      const onUpdate = field.relationOnUpdate ?? 'Cascade';
      model.set(
        `table ${table} foreign key ${prismaConstraintName(table, columns, 'fkey')}`,
        `(${columns.map(q).join(', ')}) REFERENCES ${q(refTable)}(${refColumns.map(q).join(', ')})` +
          ` ON DELETE ${REFERENTIAL_ACTIONS[onDelete]} ON UPDATE ${REFERENTIAL_ACTIONS[onUpdate]}`,
      );
    }
  }

  for (const index of datamodel.indexes) {
    const table = tableOf.get(index.model)!;
    if (index.type === 'fulltext') throw new Error(`Fulltext indexes do not exist on PostgreSQL (model ${index.model}).`);
    for (const f of index.fields) {
      if (f.length !== undefined || f.operatorClass !== undefined) {
        throw new Error(`The drift check does not handle index length / operator classes yet (${index.model}.${f.name}).`);
      }
    }
    const columns = index.fields.map((f) => ({ column: columnOf(index.model, f.name), desc: f.sortOrder === 'desc' }));
    const names = columns.map((c) => c.column);
    if (index.type === 'id') {
      model.set(`table ${table} primary key`, `${index.dbName ?? prismaPrimaryKeyName(table)} (${indexColumnsSql(columns)})`);
      continue;
    }
    const unique = index.type === 'unique';
    const name = index.dbName ?? prismaConstraintName(table, names, unique ? 'key' : 'idx');
    const method = (index.algorithm ?? 'BTree').toLowerCase();
    model.set(`table ${table} index ${name}`, `${unique ? 'UNIQUE ' : ''}INDEX USING ${method} (${indexColumnsSql(columns)})`);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Actual: from pg_catalog, rendered the same way.
// ---------------------------------------------------------------------------------------------

const PG_ACTIONS: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
const CONSTRAINT_KINDS: Record<string, string> = { c: 'CHECK', u: 'UNIQUE', x: 'EXCLUDE', t: 'TRIGGER' };

async function actualModel(url: string): Promise<SchemaModel> {
  return withClient(url, async (client) => {
    const model: SchemaModel = new Map();
    // Prisma's own bookkeeping table is not part of the schema.
    const tableFilter = `n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`;

    const enums = await client.query<{ name: string; labels: string[] }>(`
      SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        JOIN pg_enum e ON e.enumtypid = t.oid
       WHERE n.nspname = current_schema()
       GROUP BY t.typname`);
    for (const row of enums.rows) model.set(`enum ${row.name}`, `ENUM (${row.labels.map(quoteLiteral).join(', ')})`);

    const tables = await client.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${tableFilter}`);
    for (const row of tables.rows) model.set(`table ${row.name}`, 'TABLE');

    const columns = await client.query<{
      table: string; column: string; type: string; not_null: boolean; default: string | null; identity: string; generated: string;
    }>(`
      SELECT c.relname AS table, a.attname AS column,
             CASE WHEN t.typtype = 'e' THEN '"' || t.typname || '"' ELSE format_type(a.atttypid, a.atttypmod) END AS type,
             a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
             a.attidentity AS identity, a.attgenerated AS generated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE ${tableFilter} AND a.attnum > 0 AND NOT a.attisdropped`);
    for (const row of columns.rows) {
      const extras = [
        row.identity ? `GENERATED ${row.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY` : '',
        row.generated ? `GENERATED ALWAYS AS (${row.default}) STORED` : '',
      ].filter(Boolean);
      model.set(
        `table ${row.table} column ${row.column}`,
        `${row.type}${row.not_null ? ' NOT NULL' : ''}${row.default !== null && !row.generated ? ` DEFAULT ${row.default}` : ''}` +
          extras.map((extra) => ` ${extra}`).join(''),
      );
    }

    const indexes = await client.query<{
      table: string; name: string; primary: boolean; unique: boolean; method: string; predicate: string | null;
      included: number; columns: { column: string | null; expression: string; desc: boolean; nulls_first: boolean }[];
    }>(`
      SELECT c.relname AS table, ic.relname AS name, i.indisprimary AS primary, i.indisunique AS unique,
             am.amname AS method, pg_get_expr(i.indpred, i.indrelid) AS predicate,
             i.indnatts - i.indnkeyatts AS included,
             (SELECT json_agg(json_build_object(
                       'column', (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1]),
                       'expression', pg_get_indexdef(i.indexrelid, k, true),
                       'desc', pg_index_column_has_property(i.indexrelid, k, 'desc'),
                       'nulls_first', pg_index_column_has_property(i.indexrelid, k, 'nulls_first'))
                     ORDER BY k)
                FROM generate_series(1, i.indnkeyatts) AS k) AS columns
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
       WHERE ${tableFilter}`);
    for (const row of indexes.rows) {
      const columnList = row.columns
        .map(({ column, expression, desc, nulls_first }) => {
          // Prisma cannot express NULLS FIRST/LAST; only show an ordering that differs from the default.
          const nulls = nulls_first === desc ? '' : nulls_first ? ' NULLS FIRST' : ' NULLS LAST';
          return `${column === null ? `(${expression})` : q(column)}${desc ? ' DESC' : ''}${nulls}`;
        })
        .join(', ');
      const extras = `${row.included ? ` INCLUDE (${row.included} columns)` : ''}${row.predicate ? ` WHERE ${row.predicate}` : ''}`;
      if (row.primary) {
        model.set(`table ${row.table} primary key`, `${row.name} (${columnList})${extras}`);
      } else {
        model.set(`table ${row.table} index ${row.name}`, `${row.unique ? 'UNIQUE ' : ''}INDEX USING ${row.method} (${columnList})${extras}`);
      }
    }

    const constraints = await client.query<{
      table: string; name: string; kind: string; columns: string[]; ref_table: string | null; ref_columns: string[];
      on_delete: string; on_update: string; deferrable: boolean; definition: string;
    }>(`
      SELECT c.relname AS table, con.conname AS name, con.contype AS kind,
             ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS columns,
             rc.relname AS ref_table,
             ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord) AS ref_columns,
             con.confdeltype AS on_delete, con.confupdtype AS on_update, con.condeferrable AS deferrable,
             pg_get_constraintdef(con.oid, true) AS definition
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class rc ON rc.oid = con.confrelid
       WHERE ${tableFilter} AND con.contype <> 'p' AND con.contype <> 'n'`);
    for (const row of constraints.rows) {
      if (row.kind === 'f') {
        model.set(
          `table ${row.table} foreign key ${row.name}`,
          `(${row.columns.map(q).join(', ')}) REFERENCES ${q(row.ref_table ?? '?')}(${row.ref_columns.map(q).join(', ')})` +
            ` ON DELETE ${PG_ACTIONS[row.on_delete]} ON UPDATE ${PG_ACTIONS[row.on_update]}${row.deferrable ? ' DEFERRABLE' : ''}`,
        );
      } else {
        // Prisma creates unique indexes, never CHECK / UNIQUE / EXCLUDE constraints.
        model.set(`table ${row.table} ${CONSTRAINT_KINDS[row.kind] ?? row.kind} constraint ${row.name}`, row.definition);
      }
    }
    return model;
  });
}

// ---------------------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------------------

/** Readable differences, one line each; empty when the database matches the schema. */
function describeDrift(expected: SchemaModel, actual: SchemaModel): string[] {
  const lines: string[] = [];
  // Collapse a missing / extra table or enum to one line instead of one per column.
  const owner = (key: string) => /^(table \S+|enum \S+)/.exec(key)?.[1] ?? key;
  for (const [key, want] of expected) {
    const have = actual.get(key);
    if (have === undefined) {
      if (owner(key) !== key && !actual.has(owner(key))) continue;
      lines.push(`- missing from the database: ${key}: ${want}`);
    } else if (have !== want) {
      lines.push(`~ ${key}:\n    schema.prisma: ${want}\n    database:      ${have}`);
    }
  }
  for (const [key, have] of actual) {
    if (expected.has(key)) continue;
    if (owner(key) !== key && !expected.has(owner(key))) continue;
    lines.push(`+ not in schema.prisma: ${key}: ${have}`);
  }
  return lines.sort((a, b) => a.slice(2).localeCompare(b.slice(2)));
}

async function driftReport(url: string): Promise<string[]> {
  return describeDrift(await expectedFromSchema(), await actualModel(url));
}

let expectedCache: SchemaModel | undefined;
async function expectedFromSchema(): Promise<SchemaModel> {
  if (!expectedCache) {
    const schema = await readFile(schemaPath, 'utf8');
    const dmmf = await getDMMF({ datamodel: schema });
    expectedCache = expectedModel(dmmf.datamodel, unsupportedFields(schema));
  }
  return expectedCache;
}

function formatReport(lines: string[]): string {
  return lines.length === 0
    ? 'no drift'
    : `The migrated database differs from prisma/schema.prisma (add a migration):\n${lines.join('\n')}`;
}

describe('schema drift', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('the migrated database matches schema.prisma: tables, columns, enums, indexes, keys', async () => {
    const expected = await expectedFromSchema();
    // Guard against a vacuous pass: the parsed schema must describe the real tables.
    expect([...expected.keys()]).toEqual(
      expect.arrayContaining([
        'table chatConversations',
        'table providerCustomerMessages',
        'table chatParticipants',
        'enum ChatSide',
        'table providerCustomerMessages foreign key providerCustomerMessages_conversationId_fkey',
        'table providerCustomerMessages column searchVector',
        'table providerCustomerMessages index providerCustomerMessages_searchVector_idx',
      ]),
    );

    expect(formatReport(await driftReport(db.url))).toBe('no drift');
  });

  it('names indexes the way Prisma does, truncating long names to 63 bytes', () => {
    expect(prismaConstraintName('chatConversations', ['customerId', 'lastMessageAt'], 'idx')).toBe(
      'chatConversations_customerId_lastMessageAt_idx',
    );
    expect(
      prismaConstraintName('providerCustomerMessages', ['conversationId', 'senderRole', 'senderId', 'clientMessageId'], 'key'),
    ).toBe('providerCustomerMessages_conversationId_senderRole_senderId_key');
  });

  describe('on a scratch copy that is then altered', () => {
    let scratch: TestDatabase;
    beforeAll(async () => {
      scratch = await createTestDatabase();
    });
    afterAll(async () => scratch?.drop());

    it('fails when an index is dropped, naming the index', async () => {
      await withClient(scratch.url, (client) => client.query(`DROP INDEX "chatConversations_customerId_lastMessageAt_idx"`));

      const report = await driftReport(scratch.url);

      expect(report).toEqual([
        '- missing from the database: table chatConversations index chatConversations_customerId_lastMessageAt_idx: ' +
          'INDEX USING btree ("customerId", "lastMessageAt" DESC)',
      ]);
      expect(formatReport(report)).toMatch(/^The migrated database differs from prisma\/schema\.prisma/);
    });

    it('reports each kind of drift on its own readable line', async () => {
      await withClient(scratch.url, (client) =>
        client.query(`
          ALTER TABLE "chatParticipants" ALTER COLUMN "unreadCount" DROP NOT NULL;
          ALTER TABLE "chatConversations" ALTER COLUMN "lastSeq" SET DEFAULT 1;
          ALTER TABLE "providerCustomerMessages" ALTER COLUMN "clientMessageId" TYPE varchar(100);
          ALTER TYPE "ChatSide" ADD VALUE 'admin';
          ALTER TABLE "providerCustomerMessages" DROP CONSTRAINT "providerCustomerMessages_conversationId_fkey",
            ADD CONSTRAINT "providerCustomerMessages_conversationId_fkey" FOREIGN KEY ("conversationId")
            REFERENCES "chatConversations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
          DROP INDEX "chatParticipants_conversationId_side_key";
          CREATE INDEX "chatParticipants_conversationId_side_key" ON "chatParticipants"("conversationId", "side");
          ALTER TABLE "chatConversations" ADD CONSTRAINT positive_seq CHECK ("lastSeq" >= 0);
          CREATE TABLE "strayTable" (id int);
        `),
      );

      const report = await driftReport(scratch.url);

      expect(report).toEqual(
        expect.arrayContaining([
          '~ table chatParticipants column unreadCount:\n    schema.prisma: integer NOT NULL DEFAULT 0\n    database:      integer DEFAULT 0',
          '~ table chatConversations column lastSeq:\n    schema.prisma: integer NOT NULL DEFAULT 0\n    database:      integer NOT NULL DEFAULT 1',
          '~ table providerCustomerMessages column clientMessageId:\n    schema.prisma: text\n    database:      character varying(100)',
          "~ enum ChatSide:\n    schema.prisma: ENUM ('customer', 'provider')\n    database:      ENUM ('customer', 'provider', 'admin')",
          '~ table providerCustomerMessages foreign key providerCustomerMessages_conversationId_fkey:\n' +
            '    schema.prisma: ("conversationId") REFERENCES "chatConversations"("id") ON DELETE CASCADE ON UPDATE CASCADE\n' +
            '    database:      ("conversationId") REFERENCES "chatConversations"("id") ON DELETE RESTRICT ON UPDATE CASCADE',
          '~ table chatParticipants index chatParticipants_conversationId_side_key:\n' +
            '    schema.prisma: UNIQUE INDEX USING btree ("conversationId", "side")\n' +
            '    database:      INDEX USING btree ("conversationId", "side")',
          '+ not in schema.prisma: table chatConversations CHECK constraint positive_seq: CHECK ("lastSeq" >= 0)',
          '+ not in schema.prisma: table strayTable: TABLE',
        ]),
      );
      // The stray table is one line, not one per column.
      expect(report.filter((line) => line.includes('strayTable'))).toHaveLength(1);
    });

    it("compares a generated column's expression and the index method of the full-text index", async () => {
      await withClient(scratch.url, (client) =>
        client.query(`
          ALTER TABLE "providerCustomerMessages" DROP COLUMN "searchVector";
          ALTER TABLE "providerCustomerMessages"
            ADD COLUMN "searchVector" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED;
          CREATE INDEX "providerCustomerMessages_searchVector_idx" ON "providerCustomerMessages" USING btree ("searchVector");
        `),
      );

      expect(await driftReport(scratch.url)).toEqual(
        expect.arrayContaining([
          '~ table providerCustomerMessages column searchVector:\n' +
            "    schema.prisma: tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED\n" +
            "    database:      tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED",
          '~ table providerCustomerMessages index providerCustomerMessages_searchVector_idx:\n' +
            '    schema.prisma: INDEX USING gin ("searchVector")\n' +
            '    database:      INDEX USING btree ("searchVector")',
        ]),
      );
    });
  });
});
