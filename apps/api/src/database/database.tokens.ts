/** Injection token of the database target: `{ url, schema?, migrate }`. */
export const DATABASE_TARGET = Symbol('DATABASE_TARGET');

/** Injection token of the entities and subscribers the DataSource maps (`DatabaseModel`). */
export const DATABASE_MODEL = Symbol('DATABASE_MODEL');
