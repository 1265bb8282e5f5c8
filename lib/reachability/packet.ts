/** A packet as the firewalls of the model see it. */
export interface Packet {
  readonly src: number;
  readonly dst: number;
  /** `icmp`: an echo request (ping), which has no ports (0). */
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly sport: number;
  readonly dport: number;
  /** Interface it came in by, and the one it leaves by (FORWARD). */
  readonly iif: string;
  readonly oif: string;
  /** Connection tracking state: the request is NEW, its reply ESTABLISHED. */
  readonly state: "NEW" | "ESTABLISHED";
}

/** Protocols by number, as iptables and nftables take them beside their names. */
const PROTOCOL_NUMBERS: Readonly<Record<string, Packet["protocol"]>> = { "6": "tcp", "17": "udp", "1": "icmp" };

/** A protocol as written (a name, or its number for TCP, UDP and ICMP) as the packet's protocol names it. */
export function protocolName(written: string): string {
  return PROTOCOL_NUMBERS[written] ?? written;
}

/** A firewall's answer for one packet: the rule that decided, or the policy; when unknown, what leaves it undecided. */
export type FirewallVerdict =
  | {
      readonly outcome: "pass" | "drop";
      /** e.g. `rules.v4 line 14 "-A FORWARD ... -j ACCEPT": ACCEPT`. */
      readonly text: string;
    }
  | {
      readonly outcome: "unknown";
      readonly text: string;
      /**
       * The rule that may match and why, e.g. `rules.v4 line 12 "-A INPUT -m
       * mac ... -j ACCEPT" may match: match -m mac not read by the model`;
       * else the line the model cannot read.
       */
      readonly undecidedBy: string;
    };

/** Interface names as iptables and nftables match them: `+` (iptables) or `*` (nft) at the end is a prefix. */
export function ifaceMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith("+") || pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/** Inclusive port ranges. */
export interface Ports {
  readonly ranges: readonly (readonly [number, number])[];
}

export function portsContain(p: Ports, port: number): boolean {
  return p.ranges.some(([a, b]) => port >= a && port <= b);
}
