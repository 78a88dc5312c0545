import type { FastifyInstance, FastifyRequest } from 'fastify';

/** How deep a JSON body may nest: the API's own bodies are one or two levels deep. */
export const MAX_JSON_DEPTH = 32;
/** How many values (array elements, object members) a JSON body may hold in all. */
export const MAX_JSON_VALUES = 10_000;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A body the parser refuses for its shape: a 400 with a message that names the limit. */
export class JsonBodyShapeError extends Error {
  readonly statusCode = 400;
  readonly code = 'ATK_BODY_SHAPE';
  constructor(message: string) {
    super(message);
    this.name = JsonBodyShapeError.name;
  }
}

/**
 * Why a JSON text is refused before it is parsed, or `undefined`. One pass over the bytes with
 * no recursion (UTF-8 never puts `"`, `\`, brackets or commas inside a multi-byte character),
 * stopping at the first level too deep: a 60 kB `[[[[…` costs 32 steps, not a parse.
 * Malformed text passes here and is refused by the parser after it.
 */
export function jsonShapeProblem(
  text: Buffer,
  maxDepth = MAX_JSON_DEPTH,
  maxValues = MAX_JSON_VALUES,
): string | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const byte = text[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      values += 1;
      if (depth > maxDepth)
        return `The request body is nested too deeply: at most ${maxDepth} levels.`;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    } else if (byte === COMMA) {
      values += 1;
    }
    if (values > maxValues)
      return `The request body holds too many values: at most ${maxValues}.`;
  }
  return undefined;
}

type Done = (error: Error | null, body?: unknown) => void;

/**
 * The parser for `application/json` bodies on every route: the shape check above, then
 * Fastify's own parser (prototype-poisoning checks included). The validation pipe walks bodies
 * recursively, so without the depth limit a deeply nested body overflowed the stack (a 500
 * and a stack trace per request) and slowed every other request down.
 */
export function jsonBodyParser(
  fastify: FastifyInstance,
): (request: FastifyRequest, body: Buffer, done: Done) => void {
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parse = fastify.getDefaultJsonParser(
    onProtoPoisoning ?? 'error',
    onConstructorPoisoning ?? 'error',
  );
  return (request, body, done) => {
    const problem = jsonShapeProblem(body);
    if (problem) {
      done(new JsonBodyShapeError(problem), undefined);
      return;
    }
    (
      parse as unknown as (
        request: FastifyRequest,
        body: Buffer,
        done: Done,
      ) => void
    )(request, body, done);
  };
}
