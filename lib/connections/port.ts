import { brand, hasBrand, PORT } from "../private/brands";

/** Transport protocols the forwarding firewall knows. */
export type Protocol = "tcp" | "udp";

/** An inclusive range of port numbers; a single port has `from === to`. */
export interface PortRange {
  /** The first port. */
  readonly from: number;
  /** The last port. */
  readonly to: number;
}

/**
 * A port or port range of one protocol, in the spirit of aws-ec2's `Port`:
 * `Port.tcp(80)`, `Port.udpRange(60000, 61000)`. The one port value of the
 * library, for destination and source ports alike. Numbers are checked when
 * a construct uses the port, so errors can name it.
 */
export class Port {
  /** Returns true when `x` is a Port (of any copy of this library). */
  static isPort(x: unknown): x is Port {
    return hasBrand(x, PORT);
  }
  /** One TCP port. */
  static tcp(port: number): Port {
    return new Port("tcp", port, port);
  }
  /** A TCP port range, from `first` to `last` inclusive. */
  static tcpRange(first: number, last: number): Port {
    return new Port("tcp", first, last);
  }
  /** One UDP port. */
  static udp(port: number): Port {
    return new Port("udp", port, port);
  }
  /** A UDP port range, from `first` to `last` inclusive. */
  static udpRange(first: number, last: number): Port {
    return new Port("udp", first, last);
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
    /** The port's protocol. */
    readonly protocol: Protocol,
    /** The first port of the range. */
    readonly from: number,
    /** The last port of the range (equal to `from` for one port). */
    readonly to: number,
  ) {
    brand(this, PORT);
  }

  /** `tcp/80` or `tcp/8000-8080`. */
  toString(): string {
    return `${this.protocol}/${this.from === this.to ? this.from : `${this.from}-${this.to}`}`;
  }
}
