/** Exit codes of every `troupe` command (the table in docs/cli.md). */
export const EXIT = {
  /** Done: the run completed, the command did its work. */
  ok: 0,
  /** The run ended without success, or the command could not do its work (the message says why). */
  failed: 1,
  /** Bad usage: unknown command or option, an option of another command, a bad value, a missing or extra argument. */
  usage: 2,
  /** Stopped by Ctrl+C (SIGINT); the run is interrupted and `troupe resume <id>` continues it. */
  interrupted: 130,
  /** Stopped by SIGTERM; the run is interrupted likewise. */
  terminated: 143,
} as const;
