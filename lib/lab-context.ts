/**
 * What the lab tells a stack through the app context, so that a user's own
 * stack deploys into the lab without code changes: where each dom0's sshd
 * is, the lab's key (by file, never its content) and the lab's management
 * network, which the dom0 firewall must let reach sshd.
 */
import { IConstruct } from "constructs";
import { XenPropError } from "./net/errors";

export const LAB_CONTEXT_KEY = "cdktf-xen:lab";

export interface LabContext {
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
  const ctx = raw as LabContext;
  const ok =
    typeof ctx === "object" &&
    ctx !== null &&
    typeof ctx.hosts === "object" &&
    typeof ctx.privateKeyFile === "string" &&
    /^\/[A-Za-z0-9._/-]+$/.test(ctx.privateKeyFile) &&
    typeof ctx.managementCidr === "string" &&
    typeof ctx.stateFile === "string";
  if (!ok) {
    throw new XenPropError({ path: scope.node.path, prop: `context "${LAB_CONTEXT_KEY}"` }, raw, "expected { hosts, privateKeyFile, managementCidr, stateFile } as written by the lab");
  }
  return ctx;
}
