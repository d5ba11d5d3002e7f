// How values are shown: pretty JSON, YAML, a line diff, sizes and durations.

/** The value parsed as JSON, or undefined if it is not JSON. */
export function parseJson(text: string): { value: unknown } | undefined {
  const t = text.trim();
  if (t === '' || !/^[[{"\-0-9tfn]/.test(t)) return undefined;
  try {
    return { value: JSON.parse(t) };
  } catch {
    return undefined;
  }
}

export const prettyJson = (v: unknown): string => JSON.stringify(v, null, 2);

const plainScalar = /^[A-Za-z_][\w .\/-]*$/;
const yamlWords = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function yamlScalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return plainScalar.test(v) && !yamlWords.test(v) && v.trim() === v ? v : JSON.stringify(v);
  return String(v);
}

/** A JSON value written as block YAML. */
export function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return v
      .map((x) => {
        const inner = toYaml(x, `${indent}  `);
        return `${indent}- ${x !== null && typeof x === 'object' && !isEmpty(x) ? inner.trimStart() : inner}`;
      })
      .join('\n');
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, x]) => {
        const key = yamlScalar(k);
        if (x !== null && typeof x === 'object' && !isEmpty(x)) return `${indent}${key}:\n${toYaml(x, `${indent}  `)}`;
        return `${indent}${key}: ${toYaml(x, '')}`;
      })
      .join('\n');
  }
  return yamlScalar(v);
}

const isEmpty = (x: object): boolean => (Array.isArray(x) ? x.length === 0 : Object.keys(x).length === 0);

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** A line diff from `a` to `b` (longest common subsequence; long values compared as wholes). */
export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split('\n');
  const y = b.split('\n');
  if (x.length * y.length > 250_000) return [...x.map((t) => ({ op: '-' as const, text: t })), ...y.map((t) => ({ op: '+' as const, text: t }))];
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push({ op: ' ', text: x[i++] });
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) out.push({ op: '+', text: y[j++] });
    else out.push({ op: '-', text: x[i++] });
  }
  return out;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A member or lease ID (decimal uint64/int64 string) in etcd's hex form. */
export const hexId = (id: string | undefined): string => (id ? BigInt.asUintN(64, BigInt(id)).toString(16) : '0');
