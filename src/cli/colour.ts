/**
 * Whether a stream gets ANSI colours, by Node's rules: `FORCE_COLOR` wins
 * (`0` or `false` off, anything else on, even into a pipe); otherwise only a
 * terminal gets colours, and `hasColors()` from `node:tty` turns them off for
 * `NO_COLOR` (any value) and `TERM=dumb`.
 */
import { WriteStream } from 'node:tty';

export function colourEnabled(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return stream.isTTY === true && WriteStream.prototype.hasColors.call(stream, 16, env);
}
