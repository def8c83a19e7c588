/**
 * What a clean terminal screen is, for the terminal tests: every progress row whole (one label, one unbroken bar,
 * nothing else mixed in), no row twice (a frame left behind by a redraw), at most one spinner and one total line,
 * nothing wider than the terminal; and once ecrx has finished, no progress left at all.
 */
const BAR = /[█░]/;
const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /;
const LABEL = /^(total \d+\/\d+|([0-9a-f]{12} )?(config|layer \d+\/\d+|blob))$/;

export function screenProblems(rows: string[], cols: number): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let spinners = 0;
  let totals = 0;
  for (const row of rows) {
    if ([...row].length > cols) problems.push(`wider than ${cols} columns: ${row}`);
    if (SPINNER.test(row)) spinners++;
    if (/^(total )?\d+\/\d+ /.test(row)) totals++;
    if (!BAR.test(row)) continue;
    const m = /^(.*?) +([█░]+)(?: +(.*))?$/.exec(row);
    if (!m || BAR.test(m[3] ?? '') || !LABEL.test(m[1])) {
      problems.push(`torn progress row: ${row}`);
      continue;
    }
    seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
  }
  for (const [label, n] of seen) if (n > 1) problems.push(`'${label}' drawn ${n} times (debris of an earlier frame)`);
  if (spinners > 1) problems.push(`${spinners} spinner lines`);
  if (totals > 1) problems.push(`${totals} total lines`);
  return problems;
}

/** After the command: no bar, no spinner, no total line left behind. */
export function leftovers(rows: string[]): string[] {
  return rows.filter((r) => BAR.test(r) || SPINNER.test(r) || /^(total )?\d+\/\d+ .*\/s/.test(r));
}

/** The rows that look like progress (for asserting that bars were seen at all). */
export const progressRows = (rows: string[]) => rows.filter((r) => BAR.test(r));
