/**
 * Which errors mean "the connection to the server was lost" (a restart, a
 * crash, a terminated backend, a network drop) rather than "this statement
 * is wrong". Only those are retried on a new connection, and only for
 * statements that are safe to repeat.
 */

/** SQLSTATE classes and codes of a lost or refused connection. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN']);
const MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'server closed the connection',
];

export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONNECTION_SQLSTATES.has(code) || code.startsWith('08') || NODE_CODES.has(code)) {
      return true;
    }
  }
  const message = error instanceof Error ? error.message : '';
  return MESSAGES.some((text) => message.includes(text));
}
