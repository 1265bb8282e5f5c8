/**
 * What a pure reader makes of a file's text, remembered for the last few
 * texts read: the guests of a dom0 share files (the sysctl settings, the
 * table names), and a fleet has thousands of guests.
 */
export function rememberLast<T>(read: (file: string, text: string) => T, keep = 8): (file: string, text: string) => T {
  // By text, whose hash the string keeps (a key built of file and text would be hashed anew each time); the file must match too.
  const last = new Map<string, { readonly file: string; readonly value: T }>();
  return (file, text) => {
    const hit = last.get(text);
    if (hit !== undefined && hit.file === file) return hit.value;
    const value = read(file, text);
    last.delete(text);
    last.set(text, { file, value });
    if (last.size > keep) last.delete(last.keys().next().value as string);
    return value;
  };
}

/**
 * What `make` returns for a key, remembered for the last key only and reused
 * while `same` says the next key equals it (keys that are lists of texts are
 * compared item by item, with no joined string built to compare).
 */
export function rememberPrevious<K, T>(same: (a: K, b: K) => boolean, make: (key: K) => T): (key: K) => T {
  let last: { readonly key: K; readonly value: T } | undefined;
  return (key) => {
    if (last !== undefined && same(last.key, key)) return last.value;
    const value = make(key);
    last = { key, value };
    return value;
  };
}
