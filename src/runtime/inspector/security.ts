/**
 * Who may talk to the inspector. The model:
 * - Bound to a loopback address (the default), anyone on this machine may
 *   watch; the Host header must name a loopback address, which stops DNS
 *   rebinding (a web page whose domain resolves to 127.0.0.1).
 * - Bound to any other address, every WebSocket needs the token.
 * - Controls (pause, resume, cancel) always need the token.
 * - A browser always sends Origin on a WebSocket: it must be the page's own
 *   origin (or one listed in `allowedOrigins`), so another site open in the
 *   same browser cannot connect. Programs that send no Origin are not
 *   browsers and are let through (they could forge it anyway).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The host part of a Host header (`[::1]:8080` -> `[::1]`). */
export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

export interface AccessPolicy {
  /** The server listens on a loopback address only. */
  loopback: boolean;
  token: string | undefined;
  allowedOrigins: readonly string[];
}

/** Why a request is refused, or undefined if it may proceed. */
export function checkHost(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  if (!policy.loopback) return undefined;
  const host = req.headers.host;
  if (!host || !isLoopbackHost(hostnameOf(host))) return 'Host header is not a loopback address';
  return undefined;
}

export function checkOrigin(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (policy.allowedOrigins.includes(origin)) return undefined;
  const host = req.headers.host;
  if (host && (origin === `http://${host}` || origin === `https://${host}`)) return undefined;
  return `Origin ${origin} is not allowed`;
}

/** The token a request presents: `?token=` or `Authorization: Bearer`. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const url = new URL(req.url ?? '/', 'http://inspector.invalid');
  return url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string | undefined, presented: string | undefined): boolean {
  if (expected === undefined || presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
