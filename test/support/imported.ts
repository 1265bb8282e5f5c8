/** Imported code run as a user's app, and what a copy of hosts' files means: for the import's round trips. */
import * as fs from "fs";
import * as path from "path";
import type { DoctorReport } from "../../lib/adopt/doctor";
import { firewallOpens } from "../../lib/adopt/firewall-names";
import { HostCopy, modelOfCopies, readHostCopy } from "../../lib/adopt/host-copy";
import { readSiteBlocks } from "../../lib/adopt/import";
import { XlConfig } from "../../lib/reachability/xl-config";
import { readNaming } from "../../lib/reachability/naming";
import { IfupdownConfig } from "../../lib/reachability/ifupdown";
import { NetworkdConfig, networkdFilesOf } from "../../lib/reachability/networkd";
import { netplanAsNetworkd, netplanFilesOf } from "../../lib/reachability/netplan";
import { ipText } from "../../lib/reachability/ip";
import { Routing } from "../../lib/reachability/routing";
import { run } from "./tools";

const ROOT = path.resolve(__dirname, "..", "..");

/** Type-checks imported code strictly, as a user's project would (tsc), and returns what tsc said. */
export function typeCheckImported(code: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "check.ts");
  fs.writeFileSync(file, code.replace(`from "cdktf-xen"`, `from ${JSON.stringify(path.join(ROOT, "lib"))}`).replace(`from "cdktf"`, `from ${JSON.stringify(path.join(ROOT, "node_modules", "cdktf"))}`));
  const r = run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "commonjs", "--esModuleInterop", "--skipLibCheck", "--types", "node", "--typeRoots", path.join(ROOT, "node_modules", "@types"), file], { cwd: dir });
  return `${r.stdout}${r.stderr}`;
}

/** Runs imported code as a user's app (ts-node), into `outdir`; the stack's preview folder. */
export function synthImported(code: string, outdir: string, stack: string): string {
  fs.mkdirSync(outdir, { recursive: true });
  const file = path.join(outdir, "main.ts");
  fs.writeFileSync(file, code.replace(`from "cdktf-xen"`, `from ${JSON.stringify(path.join(ROOT, "lib"))}`));
  const r = run(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), file], { cwd: ROOT, env: { CDKTF_OUTDIR: outdir, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"), NODE_PATH: path.join(ROOT, "node_modules") } });
  if (r.status !== 0) throw new Error(`the imported code failed to synthesize:\n${r.stderr}\n${code}`);
  return path.join(outdir, "stacks", stack, "hosts");
}

/** What a dom0's and its guests' files mean, in the words the issue names: addresses, MACs, vifs, vhosts. */
export function meaning(dir: string, dom0Name: string): Record<string, unknown> {
  const dom0 = readHostCopy(dir, dom0Name);
  const out: Record<string, unknown> = {};
  for (const p of Object.keys(dom0.files).filter((x) => /^\/etc\/xen\/[^/]+\.cfg$/.test(x)).sort()) {
    const xl = new XlConfig(dom0.files[p]);
    const name = String(xl.string("name"));
    const guest: HostCopy = readHostCopy(dir, name);
    const routing = new Routing();
    const naming = readNaming(guest.files);
    const plan = netplanFilesOf(guest.files);
    const networkd = plan.length ? netplanAsNetworkd(plan).networkd : networkdFilesOf(guest.files);
    const network = plan.length ? "netplan" : networkd.length ? "systemd-networkd" : "ifupdown";
    if (networkd.length) new NetworkdConfig(networkd).bringUp(routing, [...naming.values()].map((n) => n.name), () => undefined);
    else new IfupdownConfig("/etc/network/interfaces", guest.files["/etc/network/interfaces"]).bringUp(routing, {}, () => true);
    const vifs = xl.list("vif")!.map((item) => {
      const spec = item!.text;
      const kv = new Map(spec.split(",").map((x) => x.split("=").map((s) => s.trim()) as [string, string]));
      const dev = naming.get(kv.get("mac")!)?.name;
      const on = kv.get("ip")!.split(" ").map((ip) => {
        const a = routing.addresses.find((x) => x.dev === dev && ipText(x.address) === ip);
        return a ? `${ipText(a.address)}/${a.prefix}` : `${ip} (not on its interface)`;
      });
      return `${kv.get("mac")} ip=${kv.get("ip")} ${dev} ${on.join(" ")}`;
    });
    out[name] = {
      memory: xl.long("memory"),
      vcpus: xl.long("vcpus"),
      disks: xl.list("disk")?.map((d) => d?.text),
      network,
      vifs,
      vhosts: readSiteBlocks(guest.files, [], name).sites.map((b) => `${b.address}:${b.port} ${b.serverName} ${b.documentRoot} ${b.aliases.join(",")}${b.tls ? " tls" : ""}`).sort(),
    };
  }
  return out;
}

/** The sockets a doctor report asks about: guest address, protocol, port. */
export const sockets = (r: DoctorReport): string[] => r.checks.map((c) => `${c.address} ${c.protocol}/${c.port}`).sort();

/**
 * What the firewall of a copy's dom0 lets through, read by the model: `address protocol/port from client`
 * for each guest address, protocol, port and client asked where the request passes the firewall.
 */
export function firewallOpenings(dir: string, guests: readonly string[], uplink: { device: string; address: string }, ports: readonly number[], clients: readonly string[]): string[] {
  const model = modelOfCopies(readHostCopy(dir, "dom0"), Object.fromEntries(guests.map((g) => [g, readHostCopy(dir, g)])), uplink);
  const out: string[] = [];
  for (const address of Object.values(model.guestAddresses()).flat()) {
    for (const protocol of ["tcp", "udp"] as const) {
      for (const port of ports) {
        for (const from of clients) if (firewallOpens(model.flow({ protocol, from, to: address, port }), "dom0")) out.push(`${address} ${protocol}/${port} from ${from}`);
      }
    }
  }
  return out;
}
