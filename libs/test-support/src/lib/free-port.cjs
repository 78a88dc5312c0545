// @ts-check
// Plain CommonJS with JSDoc types, not TypeScript: the two harnesses that node runs as they are
// (the e2e journey and the production check, both .mjs) import this file too, and Jest (the
// fault suite, the API's specs) cannot load an ES module from its CommonJS tests.
'use strict';
const { createServer } = require('node:net');

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now. Another process may take it
 * before the caller binds it; the harnesses bind at once, which is good enough on one machine.
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('The system gave no port.')),
      );
    });
  });
}

module.exports = { freePort };
