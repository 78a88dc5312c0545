// @ts-check
// CommonJS with JSDoc types, like free-port.cjs: the production check (.mjs) imports it too.
'use strict';
const { readFileSync } = require('node:fs');

/**
 * The `node` options the API's image starts it with: the `CMD ["node", …, "main.js"]` of
 * Dockerfile.api's final stage (the API). One place says how the API runs in production; the
 * production check and the bench's scale reads start it the same way from here.
 * @param {string} dockerfile The path of Dockerfile.api (callers know the repository's root;
 *   the bench bundles this file as an ES module, which has no `__dirname`).
 * @returns {string[]} e.g. `['--max-old-space-size=512', '--max-semi-space-size=8']`
 */
function imageNodeOptions(dockerfile) {
  const lines = readFileSync(dockerfile, 'utf8').split(/\r?\n/);
  let from = -1;
  lines.forEach((line, index) => {
    if (/^\s*FROM\s/i.test(line)) from = index;
  });
  const stage = lines.slice(from + 1);
  // A stage's command: a `CMD` instruction, not one inside a comment or continuing the line
  // before it (HEALTHCHECK … \ CMD […] is the health check's own command).
  const commands = stage.filter(
    (line, index) =>
      /^\s*CMD\s/i.test(line) &&
      !(stage[index - 1] ?? '').trimEnd().endsWith('\\'),
  );
  const last = commands[commands.length - 1];
  /** @type {unknown} */
  let command;
  try {
    command = last && JSON.parse(last.trim().slice('CMD'.length));
  } catch {
    command = undefined;
  }
  if (
    !Array.isArray(command) ||
    command[0] !== 'node' ||
    command[command.length - 1] !== 'main.js' ||
    !command.every((part) => typeof part === 'string')
  )
    throw new Error(
      `${dockerfile}: its final stage's CMD must be an exec form ["node", …options, "main.js"], found ${last?.trim() ?? 'none'}`,
    );
  return command.slice(1, -1);
}

module.exports = { imageNodeOptions };
