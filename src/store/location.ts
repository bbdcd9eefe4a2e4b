/** Parsing and redacting `--store` values: a path, `sqlite:path` or `postgres://…`. */
import path from 'node:path';
import { UsageError } from '../errors.js';
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
  // Up to the authority's last @: an unencoded @ in the password must not leave its tail visible.
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^/\s]*@/gi, '$1***@');
}

/** The forms a `--store` value takes, for messages. */
export const STORE_FORMS = 'a SQLite file path, sqlite:PATH, or postgres://user@host[:port]/database[?schema=name] (a password goes as user:password@)';

/** A `--store` value that cannot name a store: a usage error (exit 2), shown with the password redacted. */
function invalid(value: string, why: string): UsageError {
  return new UsageError(`invalid --store "${redact(value)}": ${why}`, { hint: `expected ${STORE_FORMS}` });
}

/** Explains why a postgres:// value is not a URL (the WHATWG parser only says "Invalid URL"). */
function whyNotUrl(value: string): string {
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(value)?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[') && !hostPort.includes(']')) return 'unclosed [ in the host (IPv6 addresses go in brackets: [::1])';
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) return `port "${port}" is not a number`;
    if (Number(port) < 1 || Number(port) > 65535) return `port ${port} is out of range (1-65535)`;
  }
  if (hostPort === '' && !/^[a-z]+:\/\/[^/]*@?\//i.test(value)) return 'no host';
  return 'not a valid URL (percent-encode special characters in the user name and password, e.g. @ as %40)';
}

/** Turns a `--store` value into a dialect and target; malformed values are usage errors. */
export function parseStoreLocation(value: string, cwd = process.cwd()): StoreLocation {
  if (value.trim() === '') throw new UsageError('--store is empty', { hint: `expected ${STORE_FORMS} (or unset ORACX_STORE for ./oracx.db)` });
  if (/^postgres(ql)?:/i.test(value)) {
    if (!/^postgres(ql)?:\/\//i.test(value)) throw invalid(value, 'a PostgreSQL URL starts with postgres://');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(value, whyNotUrl(value));
    }
    if (url.hostname === '' && !url.searchParams.has('host')) throw invalid(value, 'no host');
    if (url.port !== '' && Number(url.port) === 0) throw invalid(value, 'port 0 is out of range (1-65535)');
    const schemas = url.searchParams.getAll('schema');
    if (schemas.length > 1) throw invalid(value, 'schema= is given more than once');
    const schema = schemas[0];
    url.searchParams.delete('schema');
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/i.test(schema)) {
      throw invalid(
        value,
        schema === '' ? 'schema= is empty' : `schema "${schema}" is not a plain name (letters, digits and _, not starting with a digit, at most 63)`,
      );
    }
    const target = url.toString();
    return { dialect: 'postgres', target, schema, display: redact(value) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('sqlite:')) {
    throw invalid(value, `unknown scheme ${value.slice(0, value.indexOf(':'))}:// (oracx stores are SQLite or PostgreSQL)`);
  }
  const file = value.startsWith('sqlite:') ? value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : value;
  if (file.trim() === '') throw invalid(value, 'no SQLite file path after sqlite:');
  const target = file === ':memory:' ? file : path.resolve(cwd, file);
  return { dialect: 'sqlite', target, display: target };
}
