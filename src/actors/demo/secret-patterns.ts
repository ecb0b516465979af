/**
 * Patterns of likely secrets. Deliberately specific (known token formats and
 * quoted assignments of long values) so that code mentioning the words
 * "password" or "token" is not flagged.
 */
export const SECRET_PATTERNS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'AWS access key id', pattern: /\bAKIA[0-9A-Z]{16}\b/ },
  { name: 'private key', pattern: /-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----/ },
  { name: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { name: 'Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/ },
  { name: 'OpenAI key', pattern: /\bsk-[A-Za-z0-9_-]{32,}\b/ },
  {
    name: 'hard-coded credential',
    pattern:
      /\b(?:api[_-]?key|secret|passwd|password|access[_-]?token)\b\s*[:=]\s*['"][A-Za-z0-9+/_-]{16,}['"]/i,
  },
];

/** Shows enough of a match to find it, never the whole secret. */
export function maskSecret(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length <= 8) return '****';
  return `${trimmed.slice(0, 4)}…${'*'.repeat(4)}`;
}
