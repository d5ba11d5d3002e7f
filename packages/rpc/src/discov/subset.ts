// Caps how many servers one client talks to (go-zero's subset, size 32), so a large
// fleet does not get a full mesh. Unlike go-zero, which reshuffles on every update, the
// current members are kept while they stay registered, so an unrelated change does not
// move this client to other servers.
export const subsetSize = 32;

export function stableSubset(all: readonly string[], previous: readonly string[], size = subsetSize, random: () => number = Math.random): string[] {
  if (all.length <= size) return [...all];
  const present = new Set(all);
  const kept = previous.filter((a) => present.has(a)).slice(0, size);
  const keptSet = new Set(kept);
  const rest = all.filter((a) => !keptSet.has(a));
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j], rest[i]];
  }
  return kept.concat(rest.slice(0, size - kept.length));
}
