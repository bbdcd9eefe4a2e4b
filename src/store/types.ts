/** Dialect-neutral store types. */
export type Dialect = 'sqlite' | 'postgres';
