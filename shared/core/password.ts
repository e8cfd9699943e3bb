import { randomInt } from 'node:crypto';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SYMBOLS = '!#%+-.:=@^_~';

/**
 * A random password drawn with a CSPRNG: letters and digits, and with `symbols` also
 * `!#%+-.:=@^_~` (at least one of them). The only password generator: rotation with
 * `rotation.generator` and the local store's `rotate` both use it.
 */
export function generatePassword(length: number, symbols: boolean): string {
  const alphabet = symbols ? LETTERS + SYMBOLS : LETTERS;
  const chars: string[] = [];
  for (let i = 0; i < length; i++) chars.push(alphabet.charAt(randomInt(alphabet.length)));
  if (symbols && !chars.some((c) => SYMBOLS.includes(c)))
    chars[randomInt(length)] = SYMBOLS.charAt(randomInt(SYMBOLS.length));
  return chars.join('');
}
