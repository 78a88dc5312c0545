import { IMPORT_LIMITS } from '@keeper/contracts';
import { Fernet } from '@keeper/fernet';
import {
  EXPORT_FORMAT_NAME,
  ImportFileError,
  parseImport,
  splitCsv,
} from './import-file';
import { parseExportArguments, parseImportArguments } from './transfer.command';
import { UsageError } from '../crypto/keys.command';

const TOKEN = 'Atzr|IwEBIExampleRefreshToken0001';
const OTHER = 'Atzr|IwEBIExampleRefreshToken0002';

describe(parseImport.name, () => {
  describe('CSV', () => {
    it('reads the header, labels optional, regions any case, blank lines ignored', () => {
      const parsed = parseImport(
        'csv',
        `\uFEFFrefresh_token,region,label\r\n${TOKEN},NA,"Acme, Inc. ""Outdoor"""\r\n\r\n${OTHER},eu,\r\n`,
      );
      expect(parsed).toEqual({
        lines: 2,
        entries: [
          {
            line: 2,
            refreshToken: TOKEN,
            region: 'na',
            label: 'Acme, Inc. "Outdoor"',
          },
          { line: 4, refreshToken: OTHER, region: 'eu' },
        ],
        failures: [],
      });
    });

    it('takes the columns in any order, label absent', () => {
      expect(
        parseImport('csv', `region,refresh_token\nfe,${TOKEN}`).entries,
      ).toEqual([{ line: 2, refreshToken: TOKEN, region: 'fe' }]);
    });

    it('reports each bad line with its number and reason, and keeps the others', () => {
      const parsed = parseImport(
        'csv',
        [
          'refresh_token,region,label',
          `${TOKEN},na,Good`,
          `${OTHER},mars,Bad region`,
          `,na,No token`,
          `${OTHER},,No region`,
          `${OTHER},eu,Too,many`,
          `"${OTHER},eu,Open quote`,
          `Atzr|has space,na,Space`,
          `${'x'.repeat(IMPORT_LIMITS.maxTokenLength + 1)},na,Long`,
          `${OTHER},na,${'l'.repeat(101)}`,
          `${OTHER},na,"bell\u0007"`,
          `${TOKEN},eu,Again`,
          `${OTHER},eu,Fine`,
        ].join('\n'),
      );
      expect(parsed.lines).toBe(12);
      expect(parsed.entries.map((entry) => entry.line)).toEqual([2, 13]);
      expect(parsed.failures).toEqual([
        { line: 3, reason: expect.stringMatching(/^Unknown region/) },
        { line: 4, reason: 'The refresh token is missing.' },
        { line: 5, reason: expect.stringMatching(/^The region is missing/) },
        { line: 6, reason: expect.stringMatching(/header's columns/) },
        { line: 7, reason: expect.stringMatching(/unbalanced quotes/) },
        { line: 8, reason: expect.stringMatching(/characters a token never/) },
        { line: 9, reason: expect.stringMatching(/longer than 4096/) },
        { line: 10, reason: expect.stringMatching(/label is longer than 100/) },
        { line: 11, reason: expect.stringMatching(/plain text/) },
        { line: 12, reason: 'The same refresh token as line 2.' },
      ]);
      // Never a token in a reason, nor a piece of one.
      for (const failure of parsed.failures)
        expect(failure.reason).not.toMatch(/Atzr|IwEB|xxxx/);
    });

    it.each([
      ['no header', `${TOKEN},na,x`],
      ['a header without region', 'refresh_token,label'],
      ['an unknown column', 'refresh_token,region,secret'],
      ['a column twice', 'refresh_token,region,region'],
    ])('refuses the whole file with %s', (_, content) => {
      expect(() => parseImport('csv', content)).toThrow(ImportFileError);
    });

    it('refuses an empty file, and more lines than the limit', () => {
      expect(() => parseImport('csv', 'refresh_token,region\n\n')).toThrow(
        /no line/,
      );
      const lines = Array.from(
        { length: IMPORT_LIMITS.maxLines + 1 },
        (_, index) => `t${index},na`,
      );
      expect(() =>
        parseImport('csv', `refresh_token,region\n${lines.join('\n')}`),
      ).toThrow(/10001 lines; at most 10000/);
    });

    it('refuses a file over the size limit before reading its lines', () => {
      const content = `refresh_token,region\n${'x'.repeat(IMPORT_LIMITS.maxBytes)}`;
      expect(() => parseImport('csv', content)).toThrow(/larger than 16 MiB/);
    });
  });

  describe('JSON', () => {
    it('reads an array of {refreshToken, region, label?}; elements are the lines', () => {
      const parsed = parseImport(
        'json',
        JSON.stringify([
          { refreshToken: TOKEN, region: 'na', label: ' Acme ' },
          { refreshToken: OTHER, region: 'xx' },
          'not an object',
          { refresh_token: OTHER, region: 'eu' },
          { refreshToken: OTHER, region: 'eu', label: 7 },
        ]),
      );
      expect(parsed.entries).toEqual([
        { line: 1, refreshToken: TOKEN, region: 'na', label: 'Acme' },
      ]);
      expect(parsed.failures.map((failure) => failure.line)).toEqual([
        2, 3, 4, 5,
      ]);
      expect(parsed.failures[1].reason).toMatch(/not an object/);
      expect(parsed.failures[2].reason).toBe('The refresh token is missing.');
    });

    it.each([
      ['not JSON', '[{'],
      ['not an array', '{"refreshToken":"x","region":"na"}'],
      ['an empty array', '[]'],
    ])('refuses %s', (_, content) => {
      expect(() => parseImport('json', content)).toThrow(ImportFileError);
    });
  });

  describe('with an old Fernet key', () => {
    const key = Fernet.generateKey();
    const fernet = new Fernet(key);

    it('decrypts the token column; a ciphertext of another key fails its line only', () => {
      const parsed = parseImport(
        'csv',
        [
          'refresh_token,region',
          `${fernet.encrypt(TOKEN)},na`,
          `${new Fernet(Fernet.generateKey()).encrypt(OTHER)},na`,
          `${fernet.encrypt('not a token\u0000')},eu`,
          `${fernet.encrypt(TOKEN)},eu`,
        ].join('\n'),
        key,
      );
      expect(parsed.entries).toEqual([
        { line: 2, refreshToken: TOKEN, region: 'na' },
      ]);
      expect(parsed.failures).toEqual([
        {
          line: 3,
          reason: expect.stringMatching(
            /does not decrypt with the --from-key key/,
          ),
        },
        { line: 4, reason: expect.stringMatching(/not a refresh token/) },
        { line: 5, reason: 'The same refresh token as line 2.' },
      ]);
    });

    it('reads an export (refreshTokenFernet), only with the key', () => {
      const exported = JSON.stringify({
        format: EXPORT_FORMAT_NAME,
        version: 1,
        connections: [
          {
            id: 'x',
            label: 'Acme',
            region: 'fe',
            refreshTokenFernet: fernet.encrypt(TOKEN),
          },
        ],
      });
      expect(parseImport('json', exported, key).entries).toEqual([
        { line: 1, refreshToken: TOKEN, region: 'fe', label: 'Acme' },
      ]);
      expect(() => parseImport('json', exported)).toThrow(/with --from-key/);
    });

    it('refuses an invalid key without repeating it', () => {
      const bad = 'not-a-key-but-secret-looking-value';
      let message = '';
      try {
        parseImport('csv', 'refresh_token,region\nx,na', bad, 'fromKey');
      } catch (error) {
        expect(error).toBeInstanceOf(ImportFileError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^The fromKey is not a valid Fernet key/);
      expect(message).not.toContain(bad);
    });
  });
});

describe(splitCsv.name, () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,', ['a', '', '']],
    ['"a,b",c', ['a,b', 'c']],
    ['"a""b"', ['a"b']],
    ['"a"b', undefined],
    ['a"b', undefined],
    ['"a', undefined],
  ])('%j', (line, fields) => {
    expect(splitCsv(line)).toEqual(fields);
  });
});

describe('command lines', () => {
  it('takes a file, its format from the name or --format, and --from-key', () => {
    expect(parseImportArguments(['tokens.CSV'])).toEqual({
      file: 'tokens.CSV',
      format: 'csv',
    });
    expect(
      parseImportArguments(['rows.txt', '--format=json', '--from-key', 'k']),
    ).toEqual({ file: 'rows.txt', format: 'json', fromKey: 'k' });
  });

  it.each([
    [[]],
    [['a.csv', 'b.csv']],
    [['rows.txt']],
    [['a.csv', '--format', 'xml']],
    [['a.csv', '--from-key']],
    [['a.csv', '--to-key', 'k']],
  ])('refuses import %j', (args) => {
    expect(() => parseImportArguments(args)).toThrow(UsageError);
  });

  it('takes --to-key and --out for export', () => {
    expect(parseExportArguments(['--to-key', 'k', '--out=x.json'])).toEqual({
      toKey: 'k',
      out: 'x.json',
    });
    expect(() => parseExportArguments([])).toThrow(UsageError);
    expect(() => parseExportArguments(['--to-key', 'k', 'file'])).toThrow(
      UsageError,
    );
  });
});
