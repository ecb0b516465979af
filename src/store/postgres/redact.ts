/** A PostgreSQL connection string without its password, for messages and printed commands. */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(an unparseable connection string)';
  }
}
