// Per-call metadata reads and writes of our own fixed, lower-case, ASCII keys and values,
// straight on grpc-js's Metadata map when it has one: Metadata.get and .set lower-case and
// validate the key (and the value) with regular expressions on every call, and get answers a
// fresh [] for an absent key. Anything else, or another Metadata layout, goes through the API.
import type { Metadata, MetadataValue } from '@grpc/grpc-js';

function reprOf(md: Metadata): Map<string, MetadataValue[]> | undefined {
  const repr = (md as unknown as { internalRepr?: unknown }).internalRepr;
  return repr instanceof Map ? (repr as Map<string, MetadataValue[]>) : undefined;
}

/** The first value under key (lower-case), or undefined. */
export function firstValue(md: Metadata, key: string): MetadataValue | undefined {
  const repr = reprOf(md);
  return repr ? repr.get(key)?.[0] : md.get(key)[0];
}

/** md.set(key, value) for a lower-case key and a value made of legal header characters. */
export function setOwnValue(md: Metadata, key: string, value: string): void {
  const repr = reprOf(md);
  if (repr) repr.set(key, [value]);
  else md.set(key, value);
}
