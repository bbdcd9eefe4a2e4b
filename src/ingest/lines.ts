/** Byte-stream → text lines, and CSV field splitting, for the ingest parsers. */

const LF = 0x0a;
const CR = 0x0d;

// ignoreBOM keeps a stray U+FEFF inside the file visible; only the stream-start BOM is stripped, explicitly.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// WHATWG maps the 'latin1' label to windows-1252, which is what non-UTF-8 football-data files use.
const latin1 = new TextDecoder('latin1');
// Node 20's decoder reports windows-1252 but decodes 0x80–0x9F as ISO-8859-1 C1 controls; map them as
// windows-1252 does (undefined bytes 81 8D 8F 90 9D stay as they are) so the result is the same on every Node.
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const C1_RE = /[\u0080-\u009f]/g;

function decodeLine(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes).replace(C1_RE, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);
  }
}

function hasBom(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** Splits a byte stream into decoded lines (1-based), stripping the BOM and `\r`, UTF-8 with a per-line Latin-1 fallback. */
export async function* readLines(source: AsyncIterable<Uint8Array>): AsyncGenerator<{ line: number; text: string }> {
  // Bytes of the line being assembled across chunks; joined once when its newline arrives, so cost stays linear.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;

  const finish = (bytes: Buffer): { line: number; text: string } => {
    line += 1;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end -= 1;
    const start = line === 1 && hasBom(bytes) ? 3 : 0;
    return { line, text: decodeLine(bytes.subarray(start, Math.max(start, end))) };
  };

  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    let nl = buf.indexOf(LF, start);
    while (nl !== -1) {
      let bytes = buf.subarray(start, nl);
      if (pendingBytes > 0) {
        pending.push(bytes);
        bytes = Buffer.concat(pending, pendingBytes + bytes.length);
        pending = [];
        pendingBytes = 0;
      }
      yield finish(bytes);
      start = nl + 1;
      nl = buf.indexOf(LF, start);
    }
    if (start < buf.length) {
      // Copy: the producer may reuse its chunk buffer once we return control to it.
      const rest = Buffer.from(buf.subarray(start));
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield finish(Buffer.concat(pending, pendingBytes));
}

/** Splits one CSV line on commas, honouring double-quoted fields with `""` escapes. */
export function splitCsvLine(text: string): string[] {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  while (i <= n) {
    if (text.charCodeAt(i) === 0x22 /* " */) {
      // Quoted field: runs to the closing quote; anything after it up to the comma is kept verbatim (lenient).
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          field += text.slice(i);
          i = n;
          break;
        }
        field += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    }
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? n : comma;
    field += text.slice(i, end);
    fields.push(field);
    field = '';
    i = end + 1;
  }
  return fields;
}
