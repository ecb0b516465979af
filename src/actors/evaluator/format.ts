/** Number formatting shared by recommendations and the text report. */

/** `450 ms`, `1.25 s`, `12.5 s`, `2m 03s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 10_000) return `${sign}${(abs / 1000).toFixed(2)} s`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(abs / 1000);
  if (totalSeconds < 3600) {
    return `${sign}${Math.floor(totalSeconds / 60)}m ${pad(totalSeconds % 60)}s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${sign}${Math.floor(totalMinutes / 60)}h ${pad(totalMinutes % 60)}m`;
}

/** `0.853` -> `85.3%`; whole percentages drop the decimal (`100%`). */
export function formatPercent(fraction: number): string {
  const percent = Math.round(fraction * 1000) / 10;
  return `${Number.isInteger(percent) ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
