import type { PortRange } from "../connections/port";
import { PropSite, XenPropError, at } from "./errors";

/** Checks one port number. */
export function parsePortNumber(value: unknown, site: PropSite): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new XenPropError(site, value, "expected a port number from 1 to 65535");
  }
  return value;
}

/** Checks a range: both ends valid and `from <= to`. */
export function parsePortRange(value: PortRange, site: PropSite): PortRange {
  const from = parsePortNumber(value?.from, at(site, ".from"));
  const to = parsePortNumber(value?.to, at(site, ".to"));
  if (from > to) {
    throw new XenPropError(site, `${from}-${to}`, "the range is inverted; expected from <= to");
  }
  return { from, to };
}

/** Sorts ranges and merges those that overlap or touch. */
export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: { from: number; to: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}
