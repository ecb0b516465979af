/**
 * The model's argument string as a value, or the error sent back to it.
 * An empty string means no arguments: some servers send that for tools without parameters.
 */
export function parseToolArguments(
  tool: string,
  argumentsJson: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: argumentsJson.trim() === '' ? {} : JSON.parse(argumentsJson) };
  } catch (error) {
    return {
      ok: false,
      error: `${tool}: the arguments are not valid JSON (${(error as Error).message}); send a JSON object matching the tool's schema.`,
    };
  }
}
