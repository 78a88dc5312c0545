// axe-core in the page: every rule axe runs by default (WCAG 2.x A/AA and best practices);
// a violation of impact `serious` or `critical` fails the check, the others are reported.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(
  join(dirname(require.resolve('axe-core')), 'axe.min.js'),
  'utf8',
);
const BLOCKING = new Set(['serious', 'critical']);

export class AxeAudit {
  /** Every page's findings, for `axe.json`. */
  reports = [];

  /**
   * Checks `page` as it is now; throws when a serious or critical violation is found.
   * @param {import('playwright-core').Page} page
   * @param {string} pageName
   * @param {{ log?: (line: string) => void }} [options]
   */
  async check(page, pageName, { log = () => undefined } = {}) {
    if (!(await page.evaluate(() => 'axe' in window))) {
      await page.addScriptTag({ content: AXE_SOURCE });
    }
    const result = await page.evaluate(async () => {
      const { violations, incomplete, passes } = await /** @type {any} */ (
        window
      ).axe.run(document, {
        resultTypes: ['violations', 'incomplete'],
      });
      const brief = (item) => ({
        id: item.id,
        impact: item.impact,
        help: item.help,
        helpUrl: item.helpUrl,
        nodes: item.nodes.length,
        targets: item.nodes.slice(0, 5).map((node) => node.target.join(' ')),
        summary: item.nodes[0]?.failureSummary ?? null,
      });
      return {
        violations: violations.map(brief),
        incomplete: incomplete.map(brief),
        passes: passes.length,
      };
    });
    this.reports.push({ page: pageName, url: page.url(), ...result });

    for (const violation of result.violations) {
      log(
        `    axe ${violation.impact ?? 'unknown'}: ${violation.id} (${violation.nodes} node${
          violation.nodes === 1 ? '' : 's'
        }: ${violation.targets.slice(0, 3).join(', ')}) — ${violation.help}`,
      );
    }
    const blocking = result.violations.filter((violation) =>
      BLOCKING.has(violation.impact),
    );
    if (blocking.length) {
      throw new Error(
        `${blocking.length} serious/critical violation(s): ${blocking
          .map((violation) => `${violation.id} (${violation.impact})`)
          .join(', ')}`,
      );
    }
    const minor = result.violations.length;
    return minor
      ? `${minor} minor/moderate violation(s), ${result.incomplete.length} to review by hand`
      : `no violation, ${result.incomplete.length} to review by hand`;
  }

  toJSON() {
    return {
      axeVersion: require('axe-core/package.json').version,
      pages: this.reports,
    };
  }
}
