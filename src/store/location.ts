/** Parsing and redacting `--store` values: a path, `sqlite:path` or `postgres://…`. */
import path from 'node:path';
import type { Dialect } from './types.js';

export interface StoreLocation {
  dialect: Dialect;
  /** SQLite: absolute file path or ':memory:'. PostgreSQL: the connection URL without oracx's own params. */
  target: string;
  /** PostgreSQL schema to use (from `?schema=`), created when missing. */
  schema?: string;
  /** Safe to print: passwords replaced by ***. */
  display: string;
}

/** Replaces the password of any URL in a string with ***. */
export function redact(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

/** Turns a `--store` value into a dialect and target. */
export function parseStoreLocation(value: string, cwd = process.cwd()): StoreLocation {
  if (/^postgres(ql)?:\/\//i.test(value)) {
    const url = new URL(value);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/i.test(schema)) {
      throw new Error(`invalid schema name "${schema}" in store URL (letters, digits and _ only)`);
    }
    const target = url.toString();
    return { dialect: 'postgres', target, schema, display: redact(value) };
  }
  const file = value.startsWith('sqlite:') ? value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : value;
  if (file === '') throw new Error('empty SQLite path in --store');
  const target = file === ':memory:' ? file : path.resolve(cwd, file);
  return { dialect: 'sqlite', target, display: target };
}
