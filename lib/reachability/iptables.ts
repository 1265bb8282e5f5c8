/**
 * The filter table of an iptables-restore file and the sets of an
 * `ipset restore` file, evaluated for one packet: first match wins, user
 * chains jumped into and returned from, the chain's policy at the end.
 * A rule with a match the model cannot read decides nothing it could have
 * matched: the verdict is then unknown, naming the rule.
 */
import { Cidr, inCidr, parseCidr, parseIpRange, rangeCidrs } from "./ip";
import type { Unreadable } from "./outcome";
import { FirewallVerdict, ifaceMatches, Packet, Ports, portsContain, protocolName } from "./packet";

type Tri = boolean | "unknown";

interface Match {
  readonly test: (p: Packet, sets: IpSets) => Tri;
}

/** What a rule compares a packet's source address with: a network (`-s`), or the members of a set (`--match-set NAME src`). */
type SourceOperand = Cidr | { readonly set: string };

/** Ports a rule compares a packet's destination port (`d`), source port (`s`) or either (`--ports`) with. */
interface PortOperand {
  readonly which: "d" | "s" | "both";
  readonly ranges: Ports["ranges"];
}

interface IptRule {
  readonly line: number;
  readonly text: string;
  readonly matches: readonly Match[];
  /** The source networks and sets it matches, negated or not. */
  readonly sources: readonly SourceOperand[];
  /** The ports it matches, negated or not. */
  readonly ports: readonly PortOperand[];
  /** ACCEPT, DROP, REJECT, RETURN, a user chain, or a non-terminating target (LOG). */
  readonly target?: string;
  /** What the model could not read in this rule. */
  readonly unreadable?: string;
}

/** A rule that may match, and what it would do. */
interface Maybe {
  readonly target?: string;
  readonly why: string;
}

interface Chain {
  readonly policy?: string;
  readonly rules: IptRule[];
}

/** One set: its single-address members by address (with their interface, for hash:net,iface), and its networks. */
interface IpSet {
  readonly type: string;
  readonly hosts: Map<number, (string | undefined)[]>;
  readonly nets: { readonly net: Cidr; readonly iface?: string }[];
}

/** `ipset restore` sets: the members the model can test. */
export class IpSets {
  private readonly sets = new Map<string, IpSet>();
  readonly unreadable: Unreadable[] = [];

  static read(file: string, text: string): IpSets {
    const s = new IpSets();
    s.readFile(file, text);
    return s;
  }

  readFile(file: string, text: string): void {
    text.split("\n").forEach((raw, i) => {
      const words = raw.trim().split(/\s+/);
      if (!words[0] || words[0].startsWith("#")) return;
      const bad = (why: string): void => {
        this.unreadable.push({ file, line: i + 1, text: raw, why });
      };
      if (words[0] === "create") {
        if (!["hash:net,iface", "hash:ip", "hash:net"].includes(words[2])) return bad(`set type ${words[2]} is not read by the model`);
        this.sets.set(words[1], { type: words[2], hosts: new Map(), nets: [] });
      } else if (words[0] === "add") {
        const set = this.sets.get(words[1]);
        if (!set) return bad("adds to a set not created before");
        const [addr, iface] = words[2].split(",");
        const net = parseCidr(addr);
        if (!net || (set.type === "hash:net,iface") !== (iface !== undefined)) return bad("member not read");
        // Single addresses are found by number; a set of every guest address has hundreds.
        if (net.prefix === 32) {
          const ifaces = set.hosts.get(net.net);
          if (ifaces) ifaces.push(iface);
          else set.hosts.set(net.net, [iface]);
        } else set.nets.push({ net, iface });
      } else bad(`${words[0]} is not read by the model`);
      return undefined;
    });
  }

  /** Whether the packet's address (and interface) named by `dirs` (`dst,dst`: destination, outgoing interface) is in the set. */
  test(name: string, dirs: readonly string[], p: Packet): Tri {
    const set = this.sets.get(name);
    if (!set) return "unknown";
    const address = dirs[0] === "src" ? p.src : p.dst;
    const iface = set.type === "hash:net,iface" ? (dirs[1] === "src" ? p.iif : p.oif) : undefined;
    const ifaces = set.hosts.get(address);
    if (ifaces && ifaces.some((i) => i === undefined || i === iface)) return true;
    return set.nets.some((m) => inCidr(m.net, address) && (m.iface === undefined || m.iface === iface));
  }

  /** The networks of set `name` (its single addresses as /32s); none when there is no such set. */
  members(name: string): Cidr[] {
    const set = this.sets.get(name);
    if (!set) return [];
    return [...[...set.hosts.keys()].map((net) => ({ net, prefix: 32 })), ...set.nets.map((m) => m.net)];
  }
}

/** The verdicts of an evaluation that was not asked to explain: shared, so none is made per packet. */
const PASSES: FirewallVerdict = { outcome: "pass", text: "" };
const DROPS: FirewallVerdict = { outcome: "drop", text: "" };

/** Splits an iptables-restore rule into words, keeping quoted strings whole. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1] ?? m[2]);
  return out;
}

function ports(text: string, sep: RegExp): Ports | undefined {
  const ranges: [number, number][] = [];
  for (const part of text.split(sep)) {
    const [a, b = a] = part.split(/[:-]/);
    const from = Number(a || 0);
    const to = Number(b || 65535);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from > to) return undefined;
    ranges.push([from, to]);
  }
  return { ranges };
}

const STATES = new Set(["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT"]);

/** ICMP types by name (iptables -p icmp -h), besides the echo request. */
const ICMP_TYPES = new Set(["echo-reply", "destination-unreachable", "network-unreachable", "host-unreachable", "protocol-unreachable", "port-unreachable", "fragmentation-needed", "source-route-failed", "network-unknown", "host-unknown", "network-prohibited", "host-prohibited", "TOS-network-unreachable", "TOS-host-unreachable", "communication-prohibited", "host-precedence-violation", "precedence-cutoff", "source-quench", "redirect", "network-redirect", "host-redirect", "TOS-network-redirect", "TOS-host-redirect", "router-advertisement", "router-solicitation", "time-exceeded", "ttl-zero-during-transit", "ttl-zero-during-reassembly", "parameter-problem", "ip-header-bad", "required-option-missing", "timestamp-request", "timestamp-reply", "address-mask-request", "address-mask-reply"]);

/** Whether `--icmp-type` (a name, a type, or type/code) takes an echo request (8/0); undefined when the model cannot tell. */
function icmpTypeIsEcho(value: string): boolean | undefined {
  if (value === "any" || value === "echo-request" || value === "ping" || value === "8" || value === "8/0") return true;
  if (/^\d+(\/\d+)?$/.test(value) || ICMP_TYPES.has(value)) return false;
  return undefined;
}

/** The options naming one address or network, source or destination. */
const ADDRESS_OPTIONS = new Set(["-s", "--source", "-d", "--destination"]);

/**
 * The rules one `-A` line loads: iptables turns `-s a,b` and `-d c,d` into a
 * rule per source and destination (`-s a -d c`, `-s a -d d`, `-s b -d c`,
 * `-s b -d d`; they differ in their addresses only, so their order decides
 * nothing). A negated list, which iptables refuses, stays one rule, which
 * the parser does not read.
 */
function addressLists(args: string[]): string[][] {
  let rules = [args];
  for (let i = 0; i < args.length - 1; i++) {
    if (!ADDRESS_OPTIONS.has(args[i]) || !args[i + 1].includes(",") || args[i - 1] === "!") continue;
    const at = i + 1;
    rules = rules.flatMap((r) => args[at].split(",").map((a) => [...r.slice(0, at), a, ...r.slice(at + 1)]));
  }
  return rules;
}

/** Parses the options of one `-A CHAIN ...` rule. */
function parseRule(args: string[], line: number, text: string): IptRule {
  const matches: Match[] = [];
  const sources: SourceOperand[] = [];
  const portOperands: PortOperand[] = [];
  let target: string | undefined;
  let unreadable: string | undefined;
  let proto: string | undefined;
  const loaded = new Set<string>();
  for (let i = 0; i < args.length && !unreadable; i++) {
    let a = args[i];
    let negate = false;
    if (a === "!") {
      negate = true;
      a = args[++i];
    }
    const value = args[i + 1];
    const add = (test: Match["test"]) => {
      matches.push({ test: negate ? (p, s) => { const r = test(p, s); return r === "unknown" ? r : !r; } : test });
      i++;
    };
    const cidr = () => parseCidr(value ?? "");
    switch (a) {
      case "-s":
      case "--source":
      case "-d":
      case "--destination": {
        const c = cidr();
        if (!c) { unreadable = negate && value?.includes(",") ? `! ${a} ${value}: iptables refuses a negated list of addresses, and loads none of the file` : `address ${value} not read`; break; }
        const src = a === "-s" || a === "--source";
        if (src) sources.push(c);
        add((p) => inCidr(c, src ? p.src : p.dst));
        break;
      }
      case "-i":
      case "--in-interface":
      case "-o":
      case "--out-interface": {
        const input = a.startsWith("-i") || a === "--in-interface";
        add((p) => ifaceMatches(value, input ? p.iif : p.oif));
        break;
      }
      case "-p":
      case "--protocol": {
        proto = value;
        if (!["tcp", "udp", "all", "icmp", "6", "17", "1"].includes(value)) { unreadable = `protocol ${value} not read`; break; }
        const name = protocolName(value);
        add((p) => name === "all" || p.protocol === name);
        break;
      }
      case "-m":
      case "--match":
        if (!["tcp", "udp", "icmp", "multiport", "conntrack", "state", "set", "comment", "iprange"].includes(value)) unreadable = `match -m ${value} not read by the model`;
        loaded.add(value);
        i++;
        break;
      case "--dport":
      case "--destination-port":
      case "--sport":
      case "--source-port":
      case "--dports":
      case "--destination-ports":
      case "--sports":
      case "--source-ports":
      case "--ports": {
        const multi = a.endsWith("s");
        if (multi ? !loaded.has("multiport") : !(loaded.has("tcp") || loaded.has("udp") || proto)) { unreadable = `${a} without its match`; break; }
        const range = ports(value ?? "", multi ? /,/ : /$^/);
        if (!range) { unreadable = `ports ${value} not read`; break; }
        const which = a.startsWith("--d") ? "d" : a.startsWith("--s") ? "s" : "both";
        portOperands.push({ which, ranges: range.ranges });
        add((p) => (which === "both" ? portsContain(range, p.sport) || portsContain(range, p.dport) : portsContain(range, which === "d" ? p.dport : p.sport)));
        break;
      }
      case "--src-range":
      case "--dst-range": {
        const range = parseIpRange(value ?? "");
        if (!loaded.has("iprange") || !range) { unreadable = `${a} ${value} not read`; break; }
        const src = a === "--src-range";
        if (src) sources.push(...rangeCidrs(range.first, range.last));
        add((p) => {
          const address = src ? p.src : p.dst;
          return address >= range.first && address <= range.last;
        });
        break;
      }
      case "--icmp-type": {
        // The model's one ICMP packet is an echo request (ping).
        const type = icmpTypeIsEcho(value ?? "");
        if (type === undefined || !(loaded.has("icmp") || protocolName(proto ?? "") === "icmp")) { unreadable = `--icmp-type ${value} not read`; break; }
        add((p) => p.protocol === "icmp" && type);
        break;
      }
      case "--ctstate":
      case "--state": {
        const states = (value ?? "").split(",");
        if (!states.every((s) => STATES.has(s))) { unreadable = `state ${value} not read`; break; }
        add((p) => states.includes(p.state));
        break;
      }
      case "--match-set": {
        const name = value;
        const dirs = (args[i + 2] ?? "").split(",");
        if (!dirs.every((d) => d === "src" || d === "dst")) { unreadable = `set flags ${args[i + 2]} not read`; break; }
        if (dirs[0] === "src") sources.push({ set: name });
        add((p, s) => s.test(name, dirs, p));
        i++;
        break;
      }
      case "--comment":
        i++;
        break;
      case "-j":
      case "--jump":
        target = value;
        i++;
        if (target === "REJECT" && args[i + 1] === "--reject-with") i += 2;
        if (target === "LOG" && args[i + 1] === "--log-prefix") i += 2;
        break;
      default:
        unreadable = `option ${a} not read by the model`;
    }
  }
  // A rule the model cannot read still says what it would do.
  if (target === undefined) {
    const j = args.findIndex((x) => x === "-j" || x === "--jump");
    if (j >= 0) target = args[j + 1];
  }
  return { line, text, matches, sources, ports: portOperands, target, unreadable };
}

/** The filter table of one iptables-restore file. */
export class IptablesFilter {
  private readonly chains = new Map<string, Chain>();
  readonly unreadable: Unreadable[] = [];
  /** The rules of its other tables (nat, mangle, raw), which the model does not read: part of `unreadable`. */
  readonly otherTables: Unreadable[] = [];
  /** True when the file has a filter table (an empty file has none: everything passes). */
  hasFilter = false;

  private readonly fileName: string;

  constructor(readonly file: string, text: string) {
    this.fileName = file.split("/").pop()!;
    let table: string | undefined;
    text.split("\n").forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      if (line.startsWith("*")) {
        table = line.slice(1);
        if (table === "filter") this.hasFilter = true;
        return;
      }
      if (line === "COMMIT") return;
      if (table !== "filter") {
        // NAT or mangle rules can change where a packet goes: say so instead of guessing.
        if (line.startsWith("-A") || line.startsWith("-I")) {
          const u = { file, line: i + 1, text: raw, why: `the ${table} table is not read by the model` };
          this.unreadable.push(u);
          this.otherTables.push(u);
        }
        return;
      }
      if (line.startsWith(":")) {
        const [name, policy] = line.slice(1).split(/\s+/);
        this.chains.set(name, { policy: policy === "-" ? undefined : policy, rules: [] });
        return;
      }
      const w = words(line);
      if (w[0] !== "-A" && w[0] !== "--append") {
        this.unreadable.push({ file, line: i + 1, text: raw, why: "only -A rules are read by the model" });
        return;
      }
      const chain = this.chains.get(w[1]) ?? { rules: [] };
      this.chains.set(w[1], chain);
      for (const args of addressLists(w.slice(2))) chain.rules.push(parseRule(args, i + 1, line));
    });
  }

  /** The verdict of the built-in chain `name` (FORWARD, INPUT) for `p`; its text only when `explain`. */
  evaluate(name: string, p: Packet, sets: IpSets, explain = true): FirewallVerdict {
    const maybe: Maybe[] = [];
    const r = this.walk(name, 0, p, sets, explain, maybe);
    const policy = this.chains.get(name)?.policy ?? "ACCEPT";
    const verdict = r ? r.target! : policy;
    const outcome = verdict === "ACCEPT" ? "pass" : "drop";
    // A rule that may match changes nothing when it would decide the same, or decides nothing (LOG).
    const doubt = maybe.length ? maybe.find((m) => m.target !== undefined && m.target !== "LOG" && (m.target === "ACCEPT" ? "pass" : ["DROP", "REJECT"].includes(m.target) ? "drop" : "other") !== outcome) : undefined;
    if (!explain && !doubt) return outcome === "pass" ? PASSES : DROPS;
    const text = r ? `${this.where(r)}: ${r.target}` : explain ? `${this.fileName}: no rule of ${name} matches, policy ${policy}` : "";
    if (doubt) return { outcome: "unknown", text: `${doubt.why}; otherwise ${text}`, undecidedBy: doubt.why };
    return { outcome, text };
  }

  /**
   * The source networks the rules of built-in chain `name`, and of the chains
   * it jumps to, compare a packet with (`-s`, sets matched on `src`), negated
   * or not; `sets` gives the members of sets.
   */
  sourcesNamed(name: string, sets: IpSets): Cidr[] {
    return this.rulesFrom(name).flatMap((rule) => rule.sources.flatMap((s) => ("set" in s ? sets.members(s.set) : [s])));
  }

  /**
   * The port ranges the rules of built-in chain `name`, and of the chains it
   * jumps to, compare a packet's destination (`d`) or source (`s`) port with
   * (`--ports` counts as both), negated or not.
   */
  portsNamed(name: string, which: "d" | "s"): Ports["ranges"] {
    return this.rulesFrom(name).flatMap((rule) => rule.ports.filter((p) => p.which === which || p.which === "both").flatMap((p) => p.ranges));
  }

  /** The rules of chain `name` and of every chain it jumps to, each once. */
  private rulesFrom(name: string): IptRule[] {
    const out: IptRule[] = [];
    const seen = new Set<string>();
    const visit = (chainName: string): void => {
      const chain = this.chains.get(chainName);
      if (!chain || seen.has(chainName)) return;
      seen.add(chainName);
      for (const rule of chain.rules) {
        out.push(rule);
        if (rule.target !== undefined) visit(rule.target);
      }
    };
    visit(name);
    return out;
  }

  private where(rule: IptRule): string {
    return `${this.fileName} line ${rule.line} ${JSON.stringify(rule.text)}`;
  }

  /** The first rule of `chainName` (or of a chain it jumps to) that decides `p`; rules that may match go to `maybe`. */
  private walk(chainName: string, depth: number, p: Packet, sets: IpSets, explain: boolean, maybe: Maybe[]): IptRule | undefined {
    const chain = this.chains.get(chainName);
    if (!chain || depth > 16) return undefined;
    for (let i = 0; i < chain.rules.length; i++) {
      const rule = chain.rules[i];
      let matched: Tri = true;
      for (let k = 0; k < rule.matches.length; k++) {
        const r = rule.matches[k].test(p, sets);
        if (r === false) {
          matched = false;
          break;
        }
        if (r === "unknown") matched = "unknown";
      }
      if (matched === false) continue;
      if (rule.unreadable || matched === "unknown") {
        maybe.push({ target: rule.target, why: `${explain ? this.where(rule) : ""} may match: ${rule.unreadable ?? "its set is not in the files"}` });
        continue;
      }
      const t = rule.target;
      if (t === undefined || t === "LOG") continue;
      if (t === "ACCEPT" || t === "DROP" || t === "REJECT") return rule;
      if (t === "RETURN") return undefined;
      const sub = this.walk(t, depth + 1, p, sets, explain, maybe);
      if (sub) return sub;
    }
    return undefined;
  }
}
