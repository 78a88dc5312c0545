/** Injection token of the database target: `{ url, schema?, migrate }`. */
export const DATABASE_TARGET = Symbol('DATABASE_TARGET');
