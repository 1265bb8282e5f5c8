import { brand, hasBrand, PEER } from "../private/brands";

/**
 * Where traffic comes from, in the spirit of aws-ec2's `Peer`: a network
 * (`Peer.ipv4("203.0.113.0/24")`) or any address (`Peer.anyIpv4()`). The
 * network is checked when a construct's connections use it, so the error
 * can name the construct.
 */
export class Peer {
  /** Returns true when `x` is a Peer (of any copy of this library). */
  static isPeer(x: unknown): x is Peer {
    return hasBrand(x, PEER);
  }
  /** An IPv4 network in CIDR form, e.g. `203.0.113.0/24` (a host is `/32`). */
  static ipv4(cidr: string): Peer {
    return new Peer(cidr);
  }
  /** Any IPv4 address: `0.0.0.0/0`. */
  static anyIpv4(): Peer {
    return new Peer("0.0.0.0/0");
  }

  private constructor(
    /** The network, as given. */
    readonly cidr: string,
  ) {
    brand(this, PEER);
  }

  /** The network, e.g. `203.0.113.0/24`. */
  toString(): string {
    return this.cidr;
  }
}
