// Column layout used by etcdctl's help and its table output:
// - `tabAlign`: Go's text/tabwriter with (minwidth 0, tabwidth 8, padding 1, padchar '\t'), which
//   etcdctl's usage printer runs its whole help text through;
// - `renderTable`: the olekukonko/tablewriter boxes of `-w table` (headers upper-cased and centred,
//   cells right-aligned).

const tabWidthCols = 8;
const paddingCols = 1;

function runeCount(s: string): number {
  return Array.from(s).length;
}

/** Aligns tab-terminated cells into columns exactly like text/tabwriter with a '\t' pad char. */
export function tabAlign(text: string): string {
  const rawLines = text.split('\n');
  // Each line is a list of cells; every cell but the last was terminated by a tab.
  const lines = rawLines.map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i];
      for (let j = 0; j < line.length; j++) {
        const cell = line[j];
        out += cell;
        if (j < widths.length && j < line.length - 1) {
          const cellw = Math.ceil(widths[j] / tabWidthCols) * tabWidthCols;
          const n = cellw - runeCount(cell);
          out += '\t'.repeat(Math.ceil(n / tabWidthCols));
        } else if (j < line.length - 1) {
          out += '\t';
        }
      }
      if (i + 1 < lines.length) out += '\n';
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let width = 0;
      for (; cur < line1; cur++) {
        const line = lines[cur];
        if (column >= line.length - 1) break;
        const w = runeCount(line[column]) + paddingCols;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
      cur--; // the for-loop increment re-examines `cur` (the line that ended the block)
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

function tableTitle(name: string): string {
  const orig = name.length;
  let n = name.replace(/_/g, ' ').replace(/\./g, ' ').trim();
  if (n.length === 0 && orig > 0) n = ' ';
  return n.toUpperCase();
}

/** The ASCII table etcdctl prints for `-w table` (header centred, rows right-aligned). */
export function renderTable(header: string[], rows: string[][]): string {
  const heads = header.map(tableTitle);
  const widths = heads.map((h, i) => Math.max(runeCount(h), ...rows.map((r) => runeCount(r[i] ?? ''))));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const centre = (s: string, w: number) => {
    const gap = w - runeCount(s);
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  let out = line;
  out += '|' + heads.map((h, i) => ' ' + centre(h, widths[i]) + ' ').join('|') + '|\n';
  out += line;
  for (const r of rows) {
    out += '|' + widths.map((w, i) => ' ' + ' '.repeat(w - runeCount(r[i] ?? '')) + (r[i] ?? '') + ' ').join('|') + '|\n';
  }
  out += line;
  return out;
}
