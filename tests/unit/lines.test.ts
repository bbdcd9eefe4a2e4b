import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readLines, splitCsvLine } from '../../src/ingest/lines.js';
import { mulberry32 } from '../../src/ml/random.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/football-data/${name}`, import.meta.url));

/** Seeded, so "random" chunkings are the same on every run. */
const prng = mulberry32;

async function* chunks(bytes: Uint8Array, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, sizes());
    // Hand out fresh copies so the reader cannot rely on chunks staying untouched.
    yield Uint8Array.from(bytes.subarray(i, i + n));
    i += n;
  }
}

async function* whole(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<{ line: number; text: string }[]> {
  const out: { line: number; text: string }[] = [];
  for await (const l of readLines(source)) out.push(l);
  return out;
}

const texts = async (bytes: Uint8Array): Promise<string[]> => (await collect(whole(bytes))).map((l) => l.text);

describe('readLines', () => {
  it('strips the UTF-8 BOM at the start of the stream', async () => {
    const bytes = fixture('E0_2024-2025.csv');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = await collect(whole(bytes));
    expect(lines[0]!.text.startsWith('Div,Date,Time,HomeTeam')).toBe(true);
    expect(lines[0]!.line).toBe(1);
    expect(lines).toHaveLength(31);
  });

  it('keeps a BOM that is not at the start of the stream', async () => {
    const lines = await texts(Buffer.from('a\n\ufeffb\n'));
    expect(lines).toEqual(['a', '\ufeffb']);
  });

  it('numbers lines from 1, keeps blank lines, adds no line after a final newline', async () => {
    expect(await collect(whole(Buffer.from('h\n\nx\n')))).toEqual([
      { line: 1, text: 'h' },
      { line: 2, text: '' },
      { line: 3, text: 'x' },
    ]);
    expect(await texts(Buffer.from('h\nlast-without-newline'))).toEqual(['h', 'last-without-newline']);
    expect(await texts(Buffer.alloc(0))).toEqual([]);
  });

  it('gives the same text for CRLF and LF files', async () => {
    const crlf = fixture('E0_2019-2020.csv');
    expect(crlf.includes('\r\n')).toBe(true);
    const lf = Buffer.from(crlf.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
    const a = await texts(crlf);
    expect(a.some((t) => t.includes('\r'))).toBe(false);
    expect(await texts(lf)).toEqual(a);
  });

  it('strips a lone trailing \\r on the last line', async () => {
    expect(await texts(Buffer.from('a\r\nb\r'))).toEqual(['a', 'b']);
  });

  it.each(['E0_2024-2025.csv', 'E0_2005-2006.csv', 'D1_2010-2011.csv', 'quirks/latin1_nbsp_ragged.csv'])(
    'gives identical lines whatever the chunking: %s',
    async (name) => {
      const bytes = fixture(name);
      const expected = await collect(whole(bytes));
      expect(await collect(chunks(bytes, () => 1))).toEqual(expected);
      for (const seed of [1, 7, 42, 2024]) {
        const rnd = prng(seed);
        expect(await collect(chunks(bytes, () => 1 + Math.floor(rnd() * 97)))).toEqual(expected);
      }
    },
  );

  it('joins a multi-byte character and a CRLF split across chunks', async () => {
    const parts = [Buffer.from([0x41, 0xc3]), Buffer.from([0xa9, 0x42, 0x0d]), Buffer.from([0x0a, 0x43])];
    async function* src(): AsyncGenerator<Uint8Array> {
      yield* parts;
    }
    expect((await collect(src())).map((l) => l.text)).toEqual(['AéB', 'C']);
  });

  it('joins a BOM split across chunks', async () => {
    async function* src(): AsyncGenerator<Uint8Array> {
      yield Buffer.from([0xef]);
      yield Buffer.from([0xbb, 0xbf, 0x44]);
      yield Buffer.from('iv\n');
    }
    expect((await collect(src())).map((l) => l.text)).toEqual(['Div']);
  });

  it('decodes a line that is not valid UTF-8 as windows-1252, line by line', async () => {
    const bytes = Buffer.concat([
      Buffer.from('caf'),
      Buffer.from([0xe9, 0x0a]), // Latin-1 é
      Buffer.from('caf\u00e9\n'), // UTF-8 é on the next line
      Buffer.from([0x80, 0x93, 0x41, 0x94, 0x0a]), // windows-1252 €, “ and ”
    ]);
    expect(await texts(bytes)).toEqual(['café', 'café', '€“A”']);
    const quirk = await texts(fixture('quirks/latin1_nbsp_ragged.csv'));
    expect(quirk[1]).toContain('Alavés,Barcelona\u00a0,');
  });

  it('yields lines before the source ends (streams)', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced += 1;
        yield Buffer.from(`row ${produced}\n`);
      }
    }
    const first: string[] = [];
    for await (const l of readLines(endless())) {
      first.push(l.text);
      if (first.length === 3) break;
    }
    expect(first).toEqual(['row 1', 'row 2', 'row 3']);
    expect(produced).toBeLessThanOrEqual(4);
  });
});

describe('splitCsvLine', () => {
  it('splits plain lines like String.split', () => {
    const line = 'E0,13/08/05,Aston Villa,Bolton,2,2,D,,';
    expect(splitCsvLine(line)).toEqual(line.split(','));
    expect(splitCsvLine('')).toEqual(['']);
    expect(splitCsvLine(',')).toEqual(['', '']);
  });

  it('reads quoted fields with commas and "" escapes', () => {
    expect(splitCsvLine('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
    expect(splitCsvLine('"say ""hi""",2')).toEqual(['say "hi"', '2']);
    expect(splitCsvLine('"",x,""')).toEqual(['', 'x', '']);
    expect(splitCsvLine('"a",')).toEqual(['a', '']);
    expect(splitCsvLine('x,"Nott\'m Forest"')).toEqual(['x', "Nott'm Forest"]);
  });

  it('is lenient with stray quotes', () => {
    expect(splitCsvLine('a,b"c,d')).toEqual(['a', 'b"c', 'd']);
    expect(splitCsvLine('"unterminated,x')).toEqual(['unterminated,x']);
    expect(splitCsvLine('"q"tail,z')).toEqual(['qtail', 'z']);
  });
});
