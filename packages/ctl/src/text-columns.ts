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

/** tablewriter's cell width limit before wrapping (MAX_ROW_WIDTH). */
const tableCellWrapCols = 30;
const wrapPenalty = 1e5;

/** Minimum-raggedness word wrap (tablewriter's WrapWords with one space between words). */
function wrapWords(words: string[], lim: number): string[][] {
  const n = words.length;
  const len = (i: number, j: number) => words.slice(i, j + 1).reduce((a, w) => a + runeCount(w), 0) + (j - i);
  const nbrk = new Array<number>(n).fill(0);
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= lim) {
      cost[i] = 0;
      nbrk[i] = n;
    } else {
      for (let j = i + 1; j < n; j++) {
        const d = lim - len(i, j - 1);
        let c = d * d + cost[j];
        if (len(i, j - 1) > lim) c += wrapPenalty;
        if (c < cost[i]) {
          cost[i] = c;
          nbrk[i] = j;
        }
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = nbrk[i]) lines.push(words.slice(i, nbrk[i]));
  return lines;
}

/** A cell's lines and width after tablewriter's auto-wrap. */
function cellLines(text: string): { lines: string[]; width: number } {
  const raw = text.split('\n');
  let maxWidth = Math.max(...raw.map(runeCount));
  if (maxWidth > tableCellWrapCols) maxWidth = tableCellWrapCols;
  let newMax = maxWidth;
  const out: string[] = [];
  raw.forEach((para, i) => {
    const words = para.split(' ');
    let lim = maxWidth;
    for (const w of words) lim = Math.max(lim, runeCount(w));
    const lines = wrapWords(words, lim).map((ws) => ws.join(' '));
    for (const l of lines) newMax = Math.max(newMax, runeCount(l));
    if (i > 0) out.push(' ');
    out.push(...lines);
  });
  return { lines: out, width: newMax };
}

/** The ASCII table etcdctl prints for `-w table` (header centred, rows right-aligned, long cells wrapped). */
export function renderTable(header: string[], rows: string[][]): string {
  const heads = header.map((h) => cellLines(tableTitle(h)));
  const body = rows.map((r) => header.map((_, i) => cellLines(r[i] ?? '')));
  const widths = heads.map((h, i) => Math.max(h.width, ...body.map((r) => r[i].width)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const centre = (s: string, w: number) => {
    const gap = w - runeCount(s);
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const right = (s: string, w: number) => ' '.repeat(w - runeCount(s)) + s;
  const printRow = (cells: { lines: string[] }[], align: (s: string, w: number) => string) => {
    const height = Math.max(...cells.map((c) => c.lines.length));
    let out = '';
    for (let l = 0; l < height; l++) out += '|' + cells.map((c, i) => ' ' + align(c.lines[l] ?? '', widths[i]) + ' ').join('|') + '|\n';
    return out;
  };
  let out = line + printRow(heads, centre) + line;
  for (const r of body) out += printRow(r, right);
  return out + line;
}
