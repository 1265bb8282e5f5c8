/**
 * systemd-networkd's `.network` files (systemd.network(5)), as far as a
 * routed guest needs them: the first file in name order whose `[Match]`
 * matches an interface configures it, with its addresses, routes (in any
 * table) and routing policy rules. A key the model does not read in a
 * section that matters makes what depends on it unknown.
 */
import { byFileName, pathsMatching, withTexts } from "./files-by-path";
import { ANY, Cidr, ipNum, parseCidr } from "./ip";
import type { Unreadable } from "./outcome";
import { MAIN, Routing, TABLE_NAMES } from "./routing";

/** One section of a `.network` file: its name, and its keys with their lines. */
interface Section {
  readonly name: string;
  readonly line: number;
  readonly keys: { readonly key: string; readonly value: string; readonly line: number; readonly raw: string }[];
}

/** Keys of [Network] that do not change the IPv4 routing of a routed guest (`DHCP` is read apart). */
const HARMLESS = new Set(["LinkLocalAddressing", "IPv6AcceptRA", "ConfigureWithoutCarrier", "Description", "DNS", "Domains", "KeepConfiguration", "IgnoreCarrierLoss"]);

/** Keys of [Link] that change nothing the model reads; others (`ARP=`, `Unmanaged=`, `ActivationPolicy=`) may leave the link without ARP, unconfigured or down. */
const HARMLESS_LINK = new Set(["MTUBytes", "MACAddress", "RequiredForOnline", "RequiredFamilyForOnline", "Multicast", "AllMulticast", "Promiscuous"]);

/** `DHCP=` values that ask no IPv4 lease (systemd's booleans, and `ipv6`). */
const NO_DHCP4 = new Set(["no", "n", "false", "f", "off", "0", "ipv6"]);

function sections(text: string): Section[] {
  const out: Section[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      out.push({ name: head[1], line: i + 1, keys: [] });
      return;
    }
    const kv = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    const current = out[out.length - 1];
    if (kv && current) current.keys.push({ key: kv[1], value: kv[2].trim(), line: i + 1, raw });
    else out.push({ name: "?", line: i + 1, keys: [{ key: "?", value: "", line: i + 1, raw }] });
  });
  return out;
}

/** A `[Match]` pattern of names or MACs: space-separated, `*` and `?` globs. */
function globMatch(patterns: string, value: string): boolean {
  return patterns.split(/\s+/).filter(Boolean).some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(value));
}

function tableOf(value: string | undefined): number | undefined {
  if (value === undefined) return MAIN;
  if (/^\d+$/.test(value)) return Number(value);
  return TABLE_NAMES[value];
}

/** The `.network` files among a host's files, in the order networkd reads them. */
export function networkdFilesOf(files: Readonly<Record<string, string>>): [string, string][] {
  return withTexts(files, pathsMatching(files, (p) => /^\/etc\/systemd\/network\/[^/]+\.network$/.test(p)).sort(byFileName));
}

/** The `.network` files of a guest, applied to its interfaces. */
export class NetworkdConfig {
  readonly unreadable: Unreadable[] = [];
  private readonly parsed: { file: string; sections: Section[] }[];

  constructor(files: readonly [string, string][]) {
    this.parsed = files.map(([path, text]) => ({ file: path.slice(path.lastIndexOf("/") + 1), sections: sections(text) }));
  }

  /** The file that configures `dev` (MAC `mac`): the first whose [Match] matches. */
  private fileFor(dev: string, mac: string | undefined): { file: string; sections: Section[] } | undefined {
    for (const f of this.parsed) {
      const match = f.sections.filter((s) => s.name === "Match").flatMap((s) => s.keys);
      let matches = true;
      for (const k of match) {
        if (k.key === "Name") matches &&= globMatch(k.value, dev);
        else if (k.key === "MACAddress") matches &&= mac !== undefined && globMatch(k.value, mac);
        else {
          this.unreadable.push({ file: f.file, line: k.line, text: k.raw, why: `[Match] ${k.key} is not read by the model` });
          matches = false;
        }
      }
      if (matches) return f;
    }
    return undefined;
  }

  /** Configures every present interface as networkd would; `macOf` gives an interface's MAC, when known. */
  bringUp(routing: Routing, devices: readonly string[], macOf: (dev: string) => string | undefined): void {
    const rules: [string, Section][] = [];
    const routes: [string, string, Section][] = [];
    for (const dev of devices) {
      const f = this.fileFor(dev, macOf(dev));
      if (!f) continue;
      const where = (line: number) => `${f.file} line ${line}`;
      const bad = (line: number, raw: string, why: string): void => {
        this.unreadable.push({ file: f.file, line, text: raw, why });
      };
      const addAddress = (value: string, line: number, raw: string) => {
        const [a, p] = value.split("/");
        const n = ipNum(a);
        if (n === undefined || p === undefined) return bad(line, raw, "address not read");
        routing.addAddress({ address: n, prefix: Number(p), dev }, `${where(line)}, the prefix route of ${dev}`);
        return undefined;
      };
      for (const s of f.sections) {
        if (s.name === "Match") continue;
        if (s.name === "Network") {
          for (const k of s.keys) {
            if (k.key === "Address") addAddress(k.value, k.line, k.raw);
            else if (k.key === "Gateway") {
              const g = ipNum(k.value);
              if (g === undefined) bad(k.line, k.raw, "gateway not read");
              else routes.push([dev, f.file, { name: "Route", line: k.line, keys: [k] }]);
            } else if (k.key === "DHCP") {
              if (!NO_DHCP4.has(k.value.toLowerCase())) bad(k.line, k.raw, "a DHCP address is not known from the files");
            } else if (!HARMLESS.has(k.key)) bad(k.line, k.raw, `[Network] ${k.key} is not read by the model`);
          }
        } else if (s.name === "Address") {
          for (const k of s.keys) {
            if (k.key === "Address") addAddress(k.value, k.line, k.raw);
            else bad(k.line, k.raw, `[Address] ${k.key} is not read by the model`);
          }
        } else if (s.name === "Route") routes.push([dev, f.file, s]);
        else if (s.name === "RoutingPolicyRule") rules.push([f.file, s]);
        else if (s.name === "Link") {
          for (const k of s.keys) if (!HARMLESS_LINK.has(k.key)) bad(k.line, k.raw, `[Link] ${k.key} is not read by the model`);
        } else if (s.name !== "DHCPv4" && s.name !== "IPv6AcceptRA") bad(s.line, `[${s.name}]`, `section [${s.name}] is not read by the model`);
      }
    }
    // networkd adds routes once the addresses are there, then the rules.
    for (const [dev, file, s] of routes) this.route(routing, dev, file, s);
    for (const [file, s] of rules) this.rule(routing, file, s);
  }

  private route(routing: Routing, dev: string, file: string, s: Section): void {
    const kv = new Map(s.keys.map((k) => [k.key, k.value]));
    const bad = (why: string): void => {
      this.unreadable.push({ file, line: s.line, text: "[Route]", why });
    };
    for (const k of s.keys) if (!["Gateway", "GatewayOnLink", "Destination", "Table", "PreferredSource", "Scope", "Metric"].includes(k.key)) return bad(`[Route] ${k.key} is not read by the model`);
    const dest: Cidr | undefined = kv.has("Destination") ? parseCidr(kv.get("Destination")!) : ANY;
    const table = tableOf(kv.get("Table"));
    const via = kv.has("Gateway") ? ipNum(kv.get("Gateway")!) : undefined;
    const src = kv.has("PreferredSource") ? ipNum(kv.get("PreferredSource")!) : undefined;
    if (!dest || table === undefined || (kv.has("Gateway") && via === undefined) || (kv.has("PreferredSource") && src === undefined)) return bad("route not read");
    routing.addRoute(table, { dest, dev, via, src, metric: Number(kv.get("Metric") ?? 0), origin: `${file} line ${s.line}` });
  }

  private rule(routing: Routing, file: string, s: Section): void {
    const kv = new Map(s.keys.map((k) => [k.key, k.value]));
    const bad = (why: string): void => {
      this.unreadable.push({ file, line: s.line, text: "[RoutingPolicyRule]", why });
    };
    for (const k of s.keys) if (!["From", "To", "Table", "Priority", "IncomingInterface", "OutgoingInterface"].includes(k.key)) return bad(`[RoutingPolicyRule] ${k.key} is not read by the model`);
    // Without a priority networkd lets the kernel pick one; the model does not guess it.
    if (!kv.has("Priority")) return bad("a rule without Priority: the kernel picks one, the model does not");
    const from = kv.has("From") ? parseCidr(kv.get("From")!) : ANY;
    const to = kv.has("To") ? parseCidr(kv.get("To")!) : ANY;
    const table = tableOf(kv.get("Table"));
    if (!from || !to || table === undefined) return bad("rule not read");
    routing.addRule({ priority: Number(kv.get("Priority")), from, to, iif: kv.get("IncomingInterface"), oif: kv.get("OutgoingInterface"), table, origin: `${file} line ${s.line}` });
  }
}
