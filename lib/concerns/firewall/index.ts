/**
 * The dom0's forwarding firewall: the ruleset of one backend (and its ipsets)
 * waits beside its place until confirmed; the staged firewall program checks
 * the staged ruleset (`cdktf-xen-firewall check`), then `try` loads it and
 * rolls back by itself unless the confirm step, from a fresh SSH connection,
 * confirms.
 */
import type { FirewallModel, HostFile } from "../../model";
import { STATE_DIR } from "../../private/paths";
import { renderIpsets } from "../../render/ipset";
import { renderIp6tablesRules, renderIptablesRules } from "../../render/iptables";
import { renderNftRuleset } from "../../render/nftables";
import { StepModel, stagedVariable } from "../../deploy/step";
import { FirewallBackend, FirewallPaths, firewallFiles, renderFirewallScript } from "./script";

/** The script that loads the ruleset in one transaction, with a dead-man switch. */
export const FIREWALL_SCRIPT_PATH = "/usr/local/sbin/cdktf-xen-firewall";

/** Where both backends keep their files on a dom0: one deploys its own and retires the other's. */
export const FIREWALL_PATHS: FirewallPaths = {
  iptablesRules: "/etc/iptables/rules.v4",
  ip6tablesRules: "/etc/iptables/rules.v6",
  ipsets: "/etc/iptables/ipsets",
  nftRules: "/etc/cdktf-xen/firewall.nft",
};

/** How one dom0's ruleset is compiled and loaded. */
export interface FirewallStepOptions {
  readonly backend: FirewallBackend;
  /** iptables backend: guests matched through ipsets. */
  readonly sets: boolean;
  /** Seconds after which an unconfirmed ruleset is replaced by the previous one. */
  readonly rollbackSeconds: number;
}

/** The firewall step of one dom0. */
export function firewallStep(host: string, model: FirewallModel, opts: FirewallStepOptions): StepModel {
  const nft = opts.backend === "nftables";
  const script = { backend: opts.backend, sets: opts.sets, paths: FIREWALL_PATHS, stateDir: STATE_DIR };
  const deployed = firewallFiles(script);
  const files: HostFile[] = [
    // The ruleset waits beside its place until confirmed: boot loads only a confirmed one.
    ...(deployed.sets ? [{ path: deployed.sets, content: renderIpsets(model), mode: "0640", pending: true }] : []),
    { path: deployed.rules, content: nft ? renderNftRuleset(model) : renderIptablesRules(model, { sets: opts.sets }), mode: "0640", pending: true },
    ...(deployed.rules6 ? [{ path: deployed.rules6, content: renderIp6tablesRules(model), mode: "0640", pending: true }] : []),
    { path: FIREWALL_SCRIPT_PATH, content: renderFirewallScript(script), mode: "0755" },
  ];
  const staged = (p: string) => `"$${stagedVariable(files, p)}"`;
  const program = staged(FIREWALL_SCRIPT_PATH);
  return {
    host,
    concern: "firewall",
    files,
    validate: [`sh -n ${program}`, `sh ${program} check ${deployed.checked.map(staged).join(" ")}`].join("\n"),
    activate: `${FIREWALL_SCRIPT_PATH} try ${opts.rollbackSeconds}`,
  };
}

/** Runs over a new SSH connection after the firewall step: proves management access, keeps the ruleset. */
export function firewallConfirmStep(host: string): StepModel {
  return { host, concern: "firewall-confirm", files: [], validate: "", activate: `${FIREWALL_SCRIPT_PATH} confirm` };
}
