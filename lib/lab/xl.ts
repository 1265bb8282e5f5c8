/**
 * The lab's `xl`: a stand-in installed in each dom0 that reads the cfg the
 * deploy wrote with Xen's own parser (libxlutil), and creates the guest as a
 * sandbox host: one veth pair per vif with the cfg's MAC and vifname, the
 * first-boot network of an installer, an sshd, and Xen's real vif-route for
 * every vif, with xenstore stubbed.
 */
import * as fs from "fs";
import { hostsDir } from "./leftovers";
import { SandboxHost } from "./sandbox-host";
import { bootNetwork, labHostKey, must, runLocal, startSshd, vifRouteOnline, writeBaseFiles } from "./hosts";
import { loadState, saveState } from "./state";
import { shellAssignments, shellSource } from "../render/shell-source";

/** What the parser prints of a cfg (see lib/lab/xlcfg-parse.c). */
export interface ParsedCfg {
  readonly name: string;
  /** An item that is itself a list is null. */
  readonly vif: (string | null)[];
}

interface VifSpec {
  readonly devid: number;
  readonly mac: string;
  readonly ip: string;
  readonly vifname: string;
  readonly gatewaydev: string;
}

/** One vif spec as xl reads it: `key=value` pairs split on commas; vif-route's defaults for what is missing. */
function parseVif(spec: string, devid: number, domid: number): VifSpec {
  const kv: Record<string, string> = Object.fromEntries(
    spec.split(",").map((pair) => {
      const i = pair.indexOf("=");
      return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
    }),
  );
  if (!kv.mac) throw new Error(`vif ${devid} has no mac: the guest would get a new random MAC at every boot`);
  return { devid, mac: kv.mac, ip: kv.ip ?? "", vifname: kv.vifname ?? `vif${domid}.${devid}`, gatewaydev: kv.gatewaydev ?? "eth0" };
}

/** How the stand-in calls back into the lab's CLI: node, and ts-node from a checkout. */
export interface LabCallback {
  readonly node: string;
  readonly cli: string;
  /** ts-node's register module and the tsconfig it reads, when the CLI is TypeScript. */
  readonly tsNode?: { readonly register: string; readonly project: string };
}

/** The shell script installed as /usr/local/sbin/xl in a dom0: lib/lab/sh/xl-stand-in.sh with the lab's names before it. */
export function renderXlStandIn(opts: { stateFile: string; dom0: string; parser: string; callback: LabCallback; lock: string; controllerPid: number }): string {
  const names: [string, string][] = [
    ["STATE_FILE", opts.stateFile],
    ["DOM0", opts.dom0],
    ["PARSER", opts.parser],
    ["LOCK", opts.lock],
    ["CONTROLLER_PID", String(opts.controllerPid)],
    ["LAB_NODE", opts.callback.node],
    ["LAB_CLI", opts.callback.cli],
    ["TS_NODE_REGISTER", opts.callback.tsNode?.register ?? ""],
    ["TS_NODE_PROJECT", opts.callback.tsNode?.project ?? ""],
  ];
  return `#!/bin/sh\n${shellAssignments(names)}${shellSource(__dirname, "sh/xl-stand-in.sh")}\n`;
}

/** `xl create`, run by the stand-in's callback in the machine's root namespaces. */
export function xlCreate(stateFile: string, dom0Id: string, parsedFile: string): void {
  const state = loadState(stateFile);
  const cfg: ParsedCfg = JSON.parse(fs.readFileSync(parsedFile, "utf8"));
  const dom0Record = state.dom0s[dom0Id];
  const topoGuest = state.topology.dom0s.find((d) => d.id === dom0Id)?.guests.find((g) => g.model.name === cfg.name);
  if (!dom0Record || !topoGuest) throw new Error(`xl create: no guest ${cfg.name} on ${dom0Id} in this lab`);
  const dom0 = SandboxHost.attach(dom0Record.netns, dom0Record.root);
  const domid = state.nextGuest;
  const name = `${state.prefix}g${domid}`;
  state.nextGuest += 1;
  const guest = SandboxHost.create(name, hostsDir(state.workdir));
  state.guests[`${dom0Id}/${cfg.name}`] = { netns: guest.name, root: guest.root, dom0: dom0Id, name: cfg.name };
  saveState(stateFile, state);

  // As xl: the vifs up to the first item that is not a string.
  const end = cfg.vif.indexOf(null);
  const vifs = (end < 0 ? cfg.vif : cfg.vif.slice(0, end)).map((spec, devid) => parseVif(spec!, devid, domid));
  for (const v of vifs) {
    // The guest names its NIC as its naming files would (found by MAC).
    const device = topoGuest.model.vifs.find((m) => m.mac === v.mac)?.device ?? `eth${v.devid}`;
    // Made from the machine's namespace: inside a host /run is its own.
    must(runLocal("ip", ["link", "add", v.vifname, "netns", dom0.name, "type", "veth", "peer", "name", device, "netns", guest.name]), `veth ${v.vifname}`);
    must(guest.exec(["ip", "link", "set", device, "address", v.mac]), `mac of ${device}`);
  }
  writeBaseFiles(guest, cfg.name);
  for (const f of state.seeds[cfg.name] ?? []) guest.writeFile(f.path, f.content, f.mode);
  bootNetwork(guest, topoGuest.model);
  startSshd(guest, state.workdir, "0.0.0.0", topoGuest.sshPort, labHostKey(state.workdir, dom0Id, `guest-${cfg.name}`));
  for (const v of vifs) {
    vifRouteOnline(dom0, { vifname: v.vifname, ip: v.ip, gatewaydev: v.gatewaydev, domid, devid: v.devid });
  }
}

/** `xl shutdown`: the guest's processes end and its namespaces go. */
export function xlDestroy(stateFile: string, dom0Id: string, name: string): void {
  const state = loadState(stateFile);
  const record = state.guests[`${dom0Id}/${name}`];
  if (!record) return;
  SandboxHost.attach(record.netns, record.root).destroy();
  delete state.guests[`${dom0Id}/${name}`];
  saveState(stateFile, state);
}
