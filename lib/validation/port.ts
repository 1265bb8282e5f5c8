import { PropSite, XenPropError, at } from "./errors";

/** Transport protocols the forwarding firewall knows. */
export type Protocol = "tcp" | "udp";

/** An inclusive range of port numbers; a single port has `from === to`. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/**
 * A destination port or port range of one protocol, in the spirit of
 * aws-ec2's `Port`: `Port.tcp(80)`, `Port.udpRange(60000, 61000)`.
 * Numbers are checked when a construct uses the port, so errors can name it.
 */
export class Port {
  /** One TCP port. */
  static tcp(port: number): Port {
    return new Port("tcp", port, port);
  }
  /** A TCP port range, inclusive. */
  static tcpRange(from: number, to: number): Port {
    return new Port("tcp", from, to);
  }
  /** One UDP port. */
  static udp(port: number): Port {
    return new Port("udp", port, port);
  }
  /** A UDP port range, inclusive. */
  static udpRange(from: number, to: number): Port {
    return new Port("udp", from, to);
  }
  /** Every TCP port. */
  static allTcp(): Port {
    return new Port("tcp", 1, 65535);
  }
  /** Every UDP port. */
  static allUdp(): Port {
    return new Port("udp", 1, 65535);
  }

  private constructor(
    readonly protocol: Protocol,
    readonly from: number,
    readonly to: number,
  ) {}

  /** `tcp/80` or `tcp/8000-8080`. */
  toString(): string {
    return `${this.protocol}/${this.from === this.to ? this.from : `${this.from}-${this.to}`}`;
  }
}

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
