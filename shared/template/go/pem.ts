import { goEqualFold, goTrimSpace } from './text.js';

/**
 * ESO's `filterPEM` over Go's encoding/pem: blocks are decoded the way pem.Decode finds
 * them (the first END line, the last BEGIN line before it, optional `Key: value`
 * headers, a base64 body that must decode) and written back as pem.Encode writes them
 * (headers, Proc-Type first, then 64-column base64).
 */

export interface PemBlock {
  type: string;
  headers: Map<string, string>;
  bytes: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '\n-----END ';
const DASHES = '-----';

/** pem's getLine: the line without trailing spaces, tabs and CR, the rest, and how much was consumed. */
function getLine(data: string): { line: string; rest: string; consumed: number } {
  const nl = data.indexOf('\n');
  if (nl < 0) return { line: data.replace(/[ \t]+$/, ''), rest: '', consumed: data.length };
  const end = nl > 0 && data[nl - 1] === '\r' ? nl - 1 : nl;
  return { line: data.slice(0, end).replace(/[ \t]+$/, ''), rest: data.slice(nl + 1), consumed: nl + 1 };
}

/** base64.StdEncoding: padded, CR and LF ignored; undefined when invalid. */
function decodeBody(text: string): Buffer | undefined {
  const clean = text.replace(/[ \t\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}

/** Reads `Key: value` header lines; undefined when the input ends inside them. */
function readHeaders(
  text: string,
): { headers: Map<string, string>; rest: string; consumed: number } | undefined {
  const headers = new Map<string, string>();
  let rest = text;
  let consumed = 0;
  for (;;) {
    if (rest === '') return undefined;
    const line = getLine(rest);
    const colon = line.line.indexOf(':');
    if (colon < 0) return { headers, rest, consumed };
    headers.set(goTrimSpace(line.line.slice(0, colon)), goTrimSpace(line.line.slice(colon + 1)));
    rest = line.rest;
    consumed += line.consumed;
  }
}

/**
 * pem.Decode: the next block and the input after it, or no block and the input
 * unchanged. Candidates that fail (no type line, no matching END, bad base64) are
 * skipped and the search goes on after their END line.
 */
export function decodePem(data: string): { block: PemBlock | undefined; rest: string } {
  let rest = data;
  let skip = 0;
  for (;;) {
    if (skip < 0 || skip > rest.length) return { block: undefined, rest: data };
    rest = rest.slice(skip);
    let end = rest.indexOf(END);
    if (end < 0) return { block: undefined, rest: data };
    skip = end + END.length;
    const begin = rest.slice(0, end).lastIndexOf(BEGIN);
    if (begin < 0 || (begin > 0 && rest[begin - 1] !== '\n')) continue;
    const shift = begin + BEGIN.length;
    rest = rest.slice(shift);
    const typeLine = getLine(rest);
    rest = typeLine.rest;
    end -= shift + typeLine.consumed;
    skip -= shift + typeLine.consumed;
    if (!typeLine.line.endsWith(DASHES)) continue;
    const type = typeLine.line.slice(0, -DASHES.length);
    const read = readHeaders(rest);
    if (read === undefined) return { block: undefined, rest: data };
    rest = read.rest;
    end -= read.consumed;
    skip -= read.consumed;
    if (read.headers.size > 0 && end < 0) continue;
    const trailerLength = type.length + DASHES.length;
    if (rest.length - skip < trailerLength) continue;
    const trailer = rest.slice(skip, skip + trailerLength);
    if (!trailer.startsWith(type) || !trailer.endsWith(DASHES)) continue;
    if (getLine(rest.slice(skip + trailerLength)).line !== '') continue;
    const bytes = end > 0 ? decodeBody(rest.slice(0, end)) : Buffer.alloc(0);
    if (bytes === undefined) continue;
    // The END marker may have matched without its newline when the body was empty.
    return {
      block: { type, headers: read.headers, bytes },
      rest: getLine(rest.slice(end + END.length - 1)).rest,
    };
  }
}

/** pem.Encode. */
export function encodePem(block: PemBlock): string {
  let out = `${BEGIN}${block.type}${DASHES}\n`;
  if (block.headers.size > 0) {
    const procType = block.headers.get('Proc-Type');
    if (procType !== undefined) out += `Proc-Type: ${procType}\n`;
    const keys = [...block.headers.keys()].filter((k) => k !== 'Proc-Type').sort();
    for (const key of keys) out += `${key}: ${block.headers.get(key) ?? ''}\n`;
    out += '\n';
  }
  const body = block.bytes.toString('base64');
  for (let i = 0; i < body.length; i += 64) out += `${body.slice(i, i + 64)}\n`;
  return `${out}${END.slice(1)}${block.type}${DASHES}\n`;
}

/** Why filterPEM refused its input (the value itself is never part of the message). */
export class PemJunkError extends Error {}

/**
 * ESO's filterPEM: every block whose type matches case-insensitively, re-encoded, in
 * order. No match is an empty result, unless nothing in the input was PEM at all (junk).
 */
export function filterPem(pemType: string, input: string): string {
  let out = '';
  let rest = input;
  for (;;) {
    const next = decodePem(rest);
    rest = next.rest;
    if (next.block === undefined) break;
    if (goEqualFold(next.block.type, pemType)) out += encodePem(next.block);
  }
  if (out === '' && rest !== '') throw new PemJunkError('error filtering pem: found junk');
  return out;
}
