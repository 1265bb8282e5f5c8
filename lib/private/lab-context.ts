/**
 * What the lab tells a stack through the app context, so that a user's own
 * stack deploys into the lab without code changes: where each dom0's sshd
 * is, the lab's key (by file, never its content) and the lab's management
 * network, which the dom0 firewall must let reach sshd.
 */
import { IConstruct } from "constructs";
import { Annotations, Fn, TerraformStack } from "./cdk";
import { PropSite, XenPropError } from "../validation/errors";
import { parseHostKey } from "../validation/host-key";
import { parseHostIpv4, parseNetworkCidr } from "../validation/ipv4";
import { parseAbsolutePath, parseInteger } from "../validation/names";

export const LAB_CONTEXT_KEY = "cdktf-xen:lab";

export interface LabContext {
  /**
   * The stack the lab deploys; the app's other stacks synthesize as they
   * would outside the lab.
   * @default - every stack of the app
   */
  readonly stack?: string;
  /** Per dom0 construct id: its sshd in the lab and its host key. */
  readonly hosts: Record<string, { readonly host: string; readonly port: number; readonly hostKey?: string }>;
  /** Absolute path of the lab's private key on the machine running Terraform. */
  readonly privateKeyFile: string;
  /** The lab's management network, e.g. 198.51.100.0/24. */
  readonly managementCidr: string;
  /** Terraform state of the lab run (local backend), never the stack's own. */
  readonly stateFile: string;
}

export function labContextOf(scope: IConstruct): LabContext | undefined {
  const raw: unknown = scope.node.tryGetContext(LAB_CONTEXT_KEY);
  if (raw === undefined) return undefined;
  const site = (prop: string): PropSite => ({ path: scope.node.path, prop: `context "${LAB_CONTEXT_KEY}"${prop}` });
  const ctx = raw as LabContext;
  if (typeof ctx !== "object" || ctx === null || typeof ctx.hosts !== "object" || ctx.hosts === null) {
    throw new XenPropError(site(""), raw, "expected { stack, hosts, privateKeyFile, managementCidr, stateFile } as written by the lab");
  }
  if (ctx.stack !== undefined && typeof ctx.stack !== "string") throw new XenPropError(site(".stack"), ctx.stack, "expected the name of the stack the lab deploys");
  if (ctx.stack !== undefined && TerraformStack.of(scope).node.id !== ctx.stack) return undefined;
  // Every value reaches a connection, a backend or the firewall: checked as strictly as the props they stand for.
  const hosts: LabContext["hosts"] = Object.fromEntries(
    Object.entries(ctx.hosts).map(([id, h]) => {
      const at = (p: string) => site(`.hosts.${id}.${p}`);
      if (typeof h !== "object" || h === null) throw new XenPropError(site(`.hosts.${id}`), h, "expected { host, port, hostKey }");
      return [id, { host: parseHostIpv4(h.host, at("host")), port: parseInteger(h.port, at("port"), 1, 65535), ...(h.hostKey === undefined ? {} : { hostKey: parseHostKey(h.hostKey, at("hostKey")) }) }];
    }),
  );
  return {
    ...(ctx.stack === undefined ? {} : { stack: ctx.stack }),
    hosts,
    privateKeyFile: parseAbsolutePath(ctx.privateKeyFile, site(".privateKeyFile")),
    managementCidr: parseNetworkCidr(ctx.managementCidr, site(".managementCidr")),
    stateFile: parseAbsolutePath(ctx.stateFile, site(".stateFile")),
  };
}

/** An SSH endpoint as a construct declares it, checked. */
export interface DeclaredSsh {
  readonly host: string;
  readonly user: string;
  readonly port: number;
  readonly privateKey?: string;
  readonly hostKey?: string;
}

/**
 * Every change the lab makes to a dom0, in this one place: its sshd where
 * the lab put it, with the lab's key and the lab's host key; the lab's
 * management network, which its firewall lets reach sshd; the stack's state
 * in the lab's run directory (a lab run never reads or writes the stack's
 * own). Undefined outside the lab.
 */
export function labDom0(dom0: IConstruct, declared: DeclaredSsh): { readonly ssh: DeclaredSsh; readonly managementCidr: string } | undefined {
  const lab = labContextOf(dom0);
  if (!lab) return undefined;
  const stack = TerraformStack.of(dom0) as unknown as Record<symbol, boolean> & TerraformStack;
  if (!stack[LAB_STATE]) {
    Object.defineProperty(stack, LAB_STATE, { value: true, enumerable: false });
    stack.addOverride("terraform.backend.local.path", lab.stateFile);
  }
  const host = lab.hosts[dom0.node.id];
  return {
    ssh: { host: host?.host ?? declared.host, user: declared.user, port: host?.port ?? declared.port, privateKey: Fn.file(lab.privateKeyFile), hostKey: host?.hostKey },
    managementCidr: lab.managementCidr,
  };
}

/**
 * Every change the lab makes to a guest's connection: its dom0's key (the
 * lab's), no pinned host key (the lab's guests have keys of their own), and
 * always through its dom0, at one of the guest's own addresses, so that no
 * connection leaves the lab: Terraform runs on the machine, where a guest's
 * address or a host name would be dialled on the machine's own network. A
 * connection the lab changes that way gets a warning. Undefined outside the
 * lab.
 */
export function labGuestSsh(
  guest: IConstruct,
  dom0PrivateKey: string | undefined,
  declared: { readonly host: string; readonly viaDom0: boolean; readonly addresses: readonly string[] },
): { readonly host: string; readonly viaDom0: true; readonly privateKey?: string; readonly hostKey?: undefined } | undefined {
  if (!labContextOf(guest)) return undefined;
  const own = declared.addresses.includes(declared.host);
  const host = own ? declared.host : declared.addresses[0];
  const changed = [...(own ? [] : [`ssh.host ${declared.host} is none of its addresses`]), ...(declared.viaDom0 ? [] : ["ssh.viaDom0 is false"])];
  if (changed.length) {
    Annotations.of(guest).addWarning(`in the lab this guest is reached through its dom0 at ${host}, so that no connection leaves the lab: ${changed.join(", and ")}`);
  }
  return { host, viaDom0: true, privateKey: dom0PrivateKey, hostKey: undefined };
}

const LAB_STATE = Symbol.for("cdktf-xen.lab-state");
