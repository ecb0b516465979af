/** Plain-text building blocks for terminal reports: sparklines and aligned tables. */

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * One block character per value, scaled between the smallest and largest
 * value; a flat series draws as a flat middle line so it does not read as
 * "everything at the maximum".
 */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (max === min) return BARS[3].repeat(values.length);
  return values
    .map((value) => {
      const index = Math.round(((value - min) / (max - min)) * (BARS.length - 1));
      return BARS[index];
    })
    .join('');
}

/**
 * Rows padded into columns separated by two spaces. The first row is the
 * header; cells longer than `maxWidth` are cut with an ellipsis so one long
 * task id cannot push the table off the screen.
 */
export function table(rows: readonly (readonly string[])[], maxWidth = 32): string[] {
  const cut = rows.map((row) =>
    row.map((cell) => (cell.length > maxWidth ? `${cell.slice(0, maxWidth - 1)}…` : cell)),
  );
  const widths: number[] = [];
  for (const row of cut) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return cut.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
