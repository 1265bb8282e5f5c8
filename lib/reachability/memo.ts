/**
 * What a pure reader makes of a file's text, remembered for the last few
 * texts read: the guests of a dom0 share files (the sysctl settings, the
 * table names), and a fleet has thousands of guests.
 */
export function rememberLast<T>(read: (file: string, text: string) => T, keep = 8): (file: string, text: string) => T {
  const last = new Map<string, T>();
  return (file, text) => {
    const key = `${file}\0${text}`;
    const hit = last.get(key);
    if (hit !== undefined) return hit;
    const value = read(file, text);
    last.set(key, value);
    if (last.size > keep) last.delete(last.keys().next().value as string);
    return value;
  };
}
