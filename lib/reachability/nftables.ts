/**
 * nftables rulesets (`nft -f` files) evaluated for one packet: the filter
 * base chains of each hook it crosses (PATH_HOOKS: prerouting, forward or
 * input, postrouting; output and postrouting for what a host sends), each
 * hook's in priority order (an accept goes on to the next
 * base chain, a drop ends it), first match wins within a chain, named and
 * anonymous sets, concatenations of address and interface. What the model
 * cannot read makes the verdict unknown when it could have decided it.
 */
import { Cidr, inCidr, parseCidr, parseIpRange, rangeCidrs } from "./ip";
import type { Unreadable } from "./outcome";
import { FirewallVerdict, ifaceMatches, Packet, Ports, protocolName } from "./packet";

type Tri = boolean | "unknown";

interface Token {
  readonly t: string;
  readonly line: number;
  /** A quoted string. */
  readonly quoted?: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  text.split("\n").forEach((raw, i) => {
    const re = /"([^"]*)"|([{};,])|([^\s{};,"]+)/g;
    const line = raw.replace(/(^|\s)#.*$/, "");
    let m: RegExpExecArray | null;
    while ((m = re.exec(line))) {
      if (m[1] !== undefined) out.push({ t: m[1], line: i + 1, quoted: true });
      else out.push({ t: m[2] ?? m[3], line: i + 1 });
    }
    out.push({ t: "\n", line: i + 1 });
  });
  return out;
}

/** An `include "PATH"` statement of a ruleset file. */
export interface NftInclude {
  /** As written: absolute, relative (to nft's include path, /etc) or a wildcard. */
  readonly path: string;
  readonly line: number;
  readonly text: string;
}

/** A value a selector is compared with: addresses, ports, names, or tuples of them. */
type Value = string;

interface NftSet {
  readonly elements: Value[][];
}

/** What a packet's source address (`saddr`), destination port (`dport`) or source port (`sport`) is compared with by one rule. */
interface Operand {
  readonly field: OperandField;
  readonly at: number;
  readonly values?: readonly Value[][];
  readonly set?: string;
}

type OperandField = "saddr" | "dport" | "sport";

/** The field a selector reads, where it is one an Operand records. */
function operandField(selector: string): OperandField | undefined {
  return selector === "ip saddr" ? "saddr" : selector.endsWith(" dport") ? "dport" : selector.endsWith(" sport") ? "sport" : undefined;
}

interface NftRule {
  readonly line: number;
  readonly text: string;
  /** What it compares `ip saddr`, a destination port or a source port with, negated or not: values, or a named set; `at` is the selector's place in a concatenation. */
  readonly operands: readonly Operand[];
  readonly test: (p: Packet, sets: Map<string, NftSet>) => Tri;
  readonly verdict?: "accept" | "drop" | "other";
  readonly unreadable?: string;
}

interface BaseChain {
  readonly table: string;
  readonly name: string;
  readonly hook: string;
  readonly priority: number;
  readonly policy: "accept" | "drop";
  readonly rules: NftRule[];
}

const PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/**
 * The hooks a packet crosses in a host, in order: forwarded (by the dom0, to
 * a guest or back), to the host itself, or sent by it. A filter chain on any
 * of them may drop it.
 */
export const PATH_HOOKS = { forward: ["prerouting", "forward", "postrouting"], input: ["prerouting", "input"], output: ["output", "postrouting"] } as const;

/** A packet's way through a host: forwarded, to the host itself, or sent by it. */
export type FirewallPath = keyof typeof PATH_HOOKS;

/** Hooks that only some devices' packets cross, which the model does not follow. */
const DEVICE_HOOKS = ["ingress", "egress"];

const SELECTORS: Record<string, (p: Packet) => string> = {
  "ip saddr": (p) => String(p.src),
  "ip daddr": (p) => String(p.dst),
  iifname: (p) => p.iif,
  oifname: (p) => p.oif,
  iif: (p) => p.iif,
  oif: (p) => p.oif,
  "tcp dport": (p) => (p.protocol === "tcp" ? String(p.dport) : ""),
  "tcp sport": (p) => (p.protocol === "tcp" ? String(p.sport) : ""),
  "udp dport": (p) => (p.protocol === "udp" ? String(p.dport) : ""),
  "udp sport": (p) => (p.protocol === "udp" ? String(p.sport) : ""),
  // An echo request has no ports: a port match is for TCP and UDP.
  "th dport": (p) => (p.protocol === "icmp" ? "" : String(p.dport)),
  "th sport": (p) => (p.protocol === "icmp" ? "" : String(p.sport)),
  "icmp type": (p) => (p.protocol === "icmp" ? "echo-request" : ""),
  "meta l4proto": (p) => p.protocol,
  "ip protocol": (p) => p.protocol,
  "meta nfproto": () => "ipv4",
  "ct state": (p) => (p.state === "NEW" ? "new" : "established"),
};

/** Whether a packet's field (from a selector) equals one written value. */
function valueMatches(selector: string, field: string, v: Value): Tri {
  // Before the addresses: `ip protocol` compares a protocol, not an address.
  if (selector === "meta l4proto" || selector === "ip protocol") return protocolName(v) === field;
  if (selector === "icmp type") return field !== "" && (v === field || v === "8");
  if (selector.startsWith("ip ")) {
    const c = parseCidr(v);
    if (c) return inCidr(c, Number(field));
    const range = parseIpRange(v);
    return range ? Number(field) >= range.first && Number(field) <= range.last : "unknown";
  }
  if (selector.endsWith("port")) {
    const range = portRange(v);
    // A service name (`http`) is the kernel's to look up: unknown.
    if (!range) return "unknown";
    const n = Number(field);
    return field !== "" && n >= range[0] && n <= range[1];
  }
  if (selector.endsWith("ifname") || selector === "iif" || selector === "oif") return ifaceMatches(v, field);
  return v === field;
}

/** A port or range as nft writes it (`80`, `1024-65535`); undefined for anything else (a service name). */
function portRange(v: Value): readonly [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2] ?? m[1]);
  return from <= to && to <= 65535 ? [from, to] : undefined;
}

/** A written value as the packet field it matches exactly, or undefined for a prefix, range or wildcard. */
function exactValue(selector: string, v: Value): string | undefined {
  if (selector === "meta l4proto" || selector === "ip protocol") return protocolName(v);
  if (selector === "icmp type") return v === "8" ? "echo-request" : v;
  if (selector.startsWith("ip ")) {
    const c = parseCidr(v);
    return c && c.prefix === 32 ? String(c.net) : undefined;
  }
  if (selector.endsWith("port")) return /^\d+$/.test(v) ? String(Number(v)) : undefined;
  if (selector.endsWith("ifname") || selector === "iif" || selector === "oif") return v.endsWith("*") || v.endsWith("+") ? undefined : v;
  return v;
}

/** The elements of a set or list as the selectors of one rule read them: exact tuples by key, the others to scan in order. */
interface ElementIndex {
  readonly list: readonly Value[][];
  readonly exact: ReadonlySet<string>;
  readonly rest: readonly Value[][];
}

function indexElements(selectors: readonly string[], list: readonly Value[][]): ElementIndex {
  const exact = new Set<string>();
  const rest: Value[][] = [];
  for (const tuple of list) {
    const keys = tuple.length === selectors.length ? tuple.map((v, k) => exactValue(selectors[k], v)) : [undefined];
    if (keys.every((k) => k !== undefined)) exact.add(keys.join("\0"));
    else rest.push(tuple);
  }
  return { list, exact, rest };
}

export class NftRuleset {
  private readonly sets = new Map<string, NftSet>();
  private readonly chains: BaseChain[] = [];
  /** The base chains of each path, in the order the path crosses them, once asked (the file is read whole before). */
  private readonly onPath = new Map<FirewallPath, BaseChain[]>();
  readonly unreadable: Unreadable[] = [];
  /** The files its `include` statements name, in order: nft reads each in place. */
  readonly includes: NftInclude[] = [];
  /** The tables it declares, deletes or flushes (`inet filter`), each once, with the line of the first. */
  readonly tables: { readonly table: string; readonly line: number }[] = [];
  private pos = 0;
  private readonly tokens: Token[];

  constructor(readonly file: string, private readonly text: string) {
    this.tokens = tokenize(text);
    this.top();
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++] ?? { t: "", line: 0 };
  }

  private lineText(line: number): string {
    return this.text.split("\n")[line - 1] ?? "";
  }

  private bad(line: number, why: string): void {
    this.unreadable.push({ file: this.file, line, text: this.lineText(line), why });
  }

  private declared(table: string, line: number): void {
    if (!this.tables.some((t) => t.table === table)) this.tables.push({ table, line });
  }

  /** Skips to the end of the statement, over a whole block if it opens one. */
  private skipStatement(): void {
    let depth = 0;
    while (this.peek()) {
      const t = this.next().t;
      if (t === "{") depth++;
      else if (t === "}") {
        depth--;
        if (depth <= 0) return;
      } else if ((t === "\n" || t === ";") && depth === 0) return;
    }
  }

  private top(): void {
    while (this.peek()) {
      const tok = this.next();
      if (tok.t === "\n" || tok.t === ";") continue;
      if (tok.t === "include" && this.peek()?.quoted && ["\n", ";"].includes(this.tokens[this.pos + 1]?.t ?? "\n")) {
        this.includes.push({ path: this.next().t, line: tok.line, text: this.lineText(tok.line) });
        continue;
      }
      const words = [tok.t];
      while (this.peek() && !["\n", ";", "{"].includes(this.peek()!.t)) words.push(this.next().t);
      if (words[0] === "table" && this.peek()?.t === "{") {
        this.next();
        const family = words.length === 3 ? words[1] : "ip";
        const name = words[words.length - 1];
        this.declared(`${family} ${name}`, tok.line);
        this.table(family, name);
      } else if (words[0] === "flush" && words[1] === "ruleset" && (this.tables.length || this.includes.length)) {
        this.bad(tok.line, "flush ruleset after tables or includes removes them: not read by the model");
      } else if (words[0] === "table" || (words[0] === "delete" && words[1] === "table") || (words[0] === "flush" && ["ruleset", "table"].includes(words[1]))) {
        // Declarations and the replace-whole idiom: the file's own contents are what remains.
        const named = words[0] === "table" ? words.slice(1) : words.slice(2);
        if (named.length) this.declared(named.length === 2 ? named.join(" ") : `ip ${named[0]}`, tok.line);
      } else {
        this.bad(tok.line, `${words[0]} is not read by the model`);
        if (this.peek()?.t === "{") this.skipStatement();
      }
    }
  }

  private table(family: string, name: string): void {
    const relevant = family === "inet" || family === "ip";
    while (this.peek() && this.peek()!.t !== "}") {
      const tok = this.next();
      if (tok.t === "\n" || tok.t === ";") continue;
      const kind = tok.t;
      const id = this.next().t;
      if (this.peek()?.t !== "{") {
        this.bad(tok.line, `${kind} ${id} is not read by the model`);
        this.skipStatement();
        continue;
      }
      this.next();
      if (kind === "set" && relevant) this.set(`${name}/${id}`);
      else if (kind === "chain" && relevant) this.chain(name, id);
      else if (!relevant && kind === "chain" && family !== "ip6" && family !== "arp") {
        this.bad(tok.line, `a chain of the ${family} family is not read by the model`);
        this.pos--;
        this.skipStatement();
      } else {
        if (kind !== "set" && kind !== "chain") this.bad(tok.line, `${kind} is not read by the model`);
        this.pos--;
        this.skipStatement();
      }
    }
    this.next();
  }

  private set(key: string): void {
    const elements: Value[][] = [];
    while (this.peek() && this.peek()!.t !== "}") {
      const tok = this.next();
      if (tok.t === "elements") {
        this.next(); // =
        if (this.next().t !== "{") return this.bad(tok.line, "elements not read");
        let current: Value[] = [];
        while (this.peek() && this.peek()!.t !== "}") {
          const e = this.next();
          if (e.t === "\n") continue;
          if (e.t === ",") {
            if (current.length) elements.push(current);
            current = [];
          } else if (e.t !== ".") current.push(e.t);
        }
        if (current.length) elements.push(current);
        this.next();
      }
    }
    this.next();
    this.sets.set(key, { elements });
  }

  /** A chain: a base chain (with a hook) is evaluated; a regular one only through a jump, which the model does not follow. */
  private chain(table: string, name: string): void {
    let hook: string | undefined;
    // Only a filter chain is evaluated; any other is a line the model cannot read.
    let filter = false;
    let priority = 0;
    let policy: "accept" | "drop" = "accept";
    const rules: NftRule[] = [];
    while (this.peek() && this.peek()!.t !== "}") {
      const first = this.peek()!;
      if (first.t === "\n" || first.t === ";") {
        this.next();
        continue;
      }
      const toks: Token[] = [];
      let depth = 0;
      while (this.peek()) {
        const t = this.peek()!;
        if (depth === 0 && (t.t === "\n" || t.t === ";" || t.t === "}")) break;
        if (t.t === "{") depth++;
        if (t.t === "}") depth--;
        toks.push(this.next());
      }
      const w = toks.map((t) => t.t);
      if (w[0] === "type") {
        const h = w.indexOf("hook");
        const p = w.indexOf("priority");
        hook = w[h + 1];
        const pr = w.slice(p + 1).join(" ");
        const m = /^(\w+)\s*([+-])\s*(\d+)$/.exec(pr);
        priority = pr in PRIORITIES ? PRIORITIES[pr] : m && m[1] in PRIORITIES ? PRIORITIES[m[1]] + (m[2] === "+" ? 1 : -1) * Number(m[3]) : Number(pr);
        if (w[1] !== "filter" || !Number.isFinite(priority)) this.bad(first.line, `a ${w[1]} chain is not read by the model`);
        else if (DEVICE_HOOKS.includes(hook)) this.bad(first.line, `a chain on the ${hook} hook is not read by the model`);
        else filter = true;
      } else if (w[0] === "policy") {
        policy = w[1] === "drop" ? "drop" : "accept";
      } else {
        rules.push(this.rule(toks, table));
      }
    }
    this.next();
    if (hook && filter) this.chains.push({ table, name, hook, priority, policy, rules });
  }

  private rule(toks: Token[], table: string): NftRule {
    const line = toks[0].line;
    const text = toks.map((t) => (t.quoted ? `"${t.t}"` : t.t)).join(" ");
    const tests: ((p: Packet, sets: Map<string, NftSet>) => Tri)[] = [];
    const operands: Operand[] = [];
    let verdict: NftRule["verdict"];
    let unreadable: string | undefined;
    let i = 0;
    const word = () => toks[i]?.t;
    while (i < toks.length && !unreadable) {
      const w = word();
      if (w === "accept" || w === "drop") {
        verdict = w;
        i++;
        continue;
      }
      if (w === "reject") {
        verdict = "drop";
        i = toks.length;
        continue;
      }
      if (w === "counter" || w === "continue") {
        i++;
        continue;
      }
      if (w === "comment") {
        i += 2;
        continue;
      }
      if (w === "jump" || w === "goto" || w === "return" || w === "log" || w === "limit") {
        unreadable = `${w} is not read by the model`;
        verdict = "other";
        break;
      }
      // A selector, or a concatenation of selectors joined by ".".
      const selectors: string[] = [];
      for (;;) {
        const two = `${word()} ${toks[i + 1]?.t}`;
        if (two in SELECTORS) {
          selectors.push(two);
          i += 2;
        } else if ((word() ?? "") in SELECTORS) {
          selectors.push(word()!);
          i++;
        } else break;
        if (word() === ".") i++;
        else break;
      }
      if (!selectors.length) {
        unreadable = `${w} is not read by the model`;
        break;
      }
      let negate = false;
      if (word() === "!=") {
        negate = true;
        i++;
      } else if (word() === "==") i++;
      // The value: @set, { anonymous set }, or one value (a tuple for a concatenation).
      let values: Value[][] | undefined;
      let setName: string | undefined;
      if (word()?.startsWith("@")) {
        setName = `${table}/${word()!.slice(1)}`;
        i++;
      } else if (word() === "{") {
        i++;
        values = [];
        let cur: Value[] = [];
        while (i < toks.length && word() !== "}") {
          if (word() === ",") {
            if (cur.length) values.push(cur);
            cur = [];
          } else if (word() !== "." && word() !== "\n") cur.push(word()!);
          i++;
        }
        if (cur.length) values.push(cur);
        i++;
      } else {
        const tuple: Value[] = [word() ?? ""];
        i++;
        while (word() === "." && selectors.length > tuple.length) {
          tuple.push(toks[i + 1]?.t ?? "");
          i += 2;
        }
        values = [tuple];
        // `ct state established,related`: a list of single values, any of which matches.
        while (selectors.length === 1 && word() === ",") {
          values.push([toks[i + 1]?.t ?? ""]);
          i += 2;
        }
      }
      const sel = selectors;
      const fixed = values;
      const named = setName;
      sel.forEach((selector, at) => {
        const field = operandField(selector);
        if (field) operands.push({ field, at, values: fixed, set: named });
      });
      let index: ElementIndex | undefined;
      tests.push((p, sets) => {
        const list = named ? sets.get(named)?.elements : fixed;
        if (!list) return "unknown";
        if (index?.list !== list) index = indexElements(sel, list);
        const fields = sel.map((s) => SELECTORS[s](p));
        if (index.exact.has(fields.join("\0"))) return !negate;
        let any: Tri = false;
        for (const tuple of index.rest) {
          if (tuple.length !== sel.length) return "unknown";
          let all: Tri = true;
          for (let k = 0; k < sel.length && all !== false; k++) {
            const r = valueMatches(sel[k], fields[k], tuple[k]);
            if (r === false) all = false;
            else if (r === "unknown") all = "unknown";
          }
          if (all === true) {
            any = true;
            break;
          }
          if (all === "unknown") any = "unknown";
        }
        return any === "unknown" ? any : negate ? !any : any;
      });
    }
    const test = (p: Packet, sets: Map<string, NftSet>): Tri => {
      let r: Tri = true;
      for (const t of tests) {
        const x = t(p, sets);
        if (x === false) return false;
        if (x === "unknown") r = "unknown";
      }
      return r;
    };
    return { line, text, operands, test, verdict, unreadable };
  }

  /** The source networks the rules of the base chains on `path` compare `ip saddr` with (values, anonymous and named sets), negated or not. */
  sourcesNamed(path: FirewallPath): Cidr[] {
    return this.valuesNamed(path, "saddr").flatMap((v) => {
      const c = parseCidr(v);
      if (c) return [c];
      const range = parseIpRange(v);
      return range ? rangeCidrs(range.first, range.last) : [];
    });
  }

  /** The port ranges the rules of the base chains on `path` compare a destination (`dport`) or source (`sport`) port with, negated or not. */
  portsNamed(path: FirewallPath, field: "dport" | "sport"): Ports["ranges"] {
    const out: (readonly [number, number])[] = [];
    for (const v of this.valuesNamed(path, field)) {
      const r = portRange(v);
      if (r) out.push(r);
    }
    return out;
  }

  /** The values (anonymous and named sets' elements included) the rules of the base chains on `path` compare `field` with. */
  private valuesNamed(path: FirewallPath, field: OperandField): Value[] {
    const out: Value[] = [];
    for (const chain of this.chainsOn(path)) {
      for (const rule of chain.rules) {
        for (const o of rule.operands) {
          if (o.field !== field) continue;
          for (const tuple of (o.set ? this.sets.get(o.set)?.elements : o.values) ?? []) if (tuple[o.at] !== undefined) out.push(tuple[o.at]);
        }
      }
    }
    return out;
  }

  /** The base chains on `path`'s hooks: hook by hook as the packet crosses them, each hook's in priority order. */
  private chainsOn(path: FirewallPath): BaseChain[] {
    let chains = this.onPath.get(path);
    if (!chains) {
      const hooks: readonly string[] = PATH_HOOKS[path];
      chains = this.chains.filter((c) => hooks.includes(c.hook)).sort((a, b) => hooks.indexOf(a.hook) - hooks.indexOf(b.hook) || a.priority - b.priority);
      this.onPath.set(path, chains);
    }
    return chains;
  }

  /** Whether this file has a base chain on one of `path`'s hooks (only then does it filter that path). */
  filters(path: FirewallPath): boolean {
    return this.chainsOn(path).length > 0;
  }

  /**
   * The verdict of every base chain on `path`, in the order the packet
   * crosses them: a drop in one that is certain drops (whatever the chains
   * before it might have done); an accept goes on to the next chain.
   */
  evaluate(path: FirewallPath, p: Packet, explain = true): FirewallVerdict {
    const file = this.file.slice(this.file.lastIndexOf("/") + 1);
    const chains = this.chainsOn(path);
    const texts: string[] = [];
    let doubt: string | undefined;
    for (const chain of chains) {
      let decided: { verdict: "accept" | "drop"; text: string } | undefined;
      const maybe: { verdict?: string; why: string }[] = [];
      for (const rule of chain.rules) {
        const m = rule.test(p, this.sets);
        if (m === false) continue;
        const where = explain ? `${file} line ${rule.line} ${JSON.stringify(rule.text)}` : "";
        if (m === "unknown" || rule.unreadable) {
          maybe.push({ verdict: rule.verdict, why: `${where} may match: ${rule.unreadable ?? "a value or set it compares is not read by the model (a range, a name, a set not in the files)"}` });
          continue;
        }
        if (rule.verdict === "accept" || rule.verdict === "drop") {
          decided = { verdict: rule.verdict, text: `${where}: ${rule.verdict}` };
          break;
        }
      }
      decided ??= { verdict: chain.policy, text: `${file}: no rule of chain ${chain.name} matches, policy ${chain.policy}` };
      const d = maybe.find((m) => m.verdict !== undefined && m.verdict !== decided!.verdict);
      texts.push(decided.text);
      if (decided.verdict === "drop") {
        // Only a rule of this chain, before its drop, could have let the packet on.
        return d ? { outcome: "unknown", text: `${d.why}; otherwise ${texts.join("; ")}`, undecidedBy: d.why } : { outcome: "drop", text: texts.join("; ") };
      }
      doubt ??= d?.why;
    }
    if (!chains.length) return { outcome: "pass", text: `${file}: no chain on the ${path} path` };
    return doubt ? { outcome: "unknown", text: `${doubt}; otherwise ${texts.join("; ")}`, undecidedBy: doubt } : { outcome: "pass", text: texts.join("; ") };
  }
}
