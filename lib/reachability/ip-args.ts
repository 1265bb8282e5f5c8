/**
 * The keyword arguments of one `ip route` or `ip rule` command, as written in
 * an interfaces file or printed by iproute2 on a running host.
 */

/** Keyword arguments by keyword: a few, so two short lists (no Map made per command). */
export class IpArgs {
  private readonly keys: string[] = [];
  private readonly values: string[] = [];

  /**
   * Reads the keyword `words[at]` with the word after it as its value (a
   * keyword given twice keeps the last). Returns why it cannot be read when
   * no word follows (`ip route add 198.51.100.0/24 via`), else undefined;
   * the value is at `at + 1`.
   */
  take(words: readonly string[], at: number): string | undefined {
    const key = words[at];
    if (at + 1 >= words.length) return `${key} without a value is not read by the model`;
    const value = words[at + 1];
    const i = this.keys.indexOf(key);
    if (i >= 0) this.values[i] = value;
    else {
      this.keys.push(key);
      this.values.push(value);
    }
    return undefined;
  }

  get(key: string): string | undefined {
    const i = this.keys.indexOf(key);
    return i < 0 ? undefined : this.values[i];
  }

  has(key: string): boolean {
    return this.keys.includes(key);
  }

  /** How many keywords were given. */
  get size(): number {
    return this.keys.length;
  }
}
