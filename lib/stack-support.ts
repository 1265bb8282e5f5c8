/**
 * The few places where cdktf-xen hooks into cdktf's synthesis: writing the
 * host-file preview beside cdk.tf.json, and checks that span the whole app.
 */
import * as fs from "fs";
import * as path from "path";
import { IConstruct } from "constructs";
import { ISynthesisSession, IStackSynthesizer, TerraformStack } from "cdktf";
import type { HostFile } from "./model";

/** A construct that stands for one machine receiving files. */
export interface IFileHost extends IConstruct {
  /** Directory name of this host in the preview (its construct id). */
  readonly hostId: string;
  /** Every file this host receives, rendered. */
  hostFiles(): HostFile[];
}

/** Writes extra files of the stack (the topology) at synth. */
export type StackWriter = (dir: string) => void;

/** Checks that need the whole app (duplicate addresses, MACs, names). */
export type AppCheck = (stack: TerraformStack) => string[];

const ATTACHED = Symbol.for("cdktf-xen.stack-support");

interface StackState {
  readonly hosts: IFileHost[];
  readonly checks: AppCheck[];
  readonly writers: StackWriter[];
}

function stateOf(stack: TerraformStack): StackState {
  const holder = stack as unknown as { [ATTACHED]?: StackState };
  let state = holder[ATTACHED];
  if (!state) {
    state = { hosts: [], checks: [], writers: [] };
    Object.defineProperty(stack, ATTACHED, { value: state, enumerable: false });
    const inner = stack.synthesizer;
    const { hosts, writers } = state;
    const wrapped: IStackSynthesizer = {
      synthesize(session: ISynthesisSession) {
        // cdktf validates before it writes cdk.tf.json: a failed synth writes no preview either.
        inner.synthesize(session);
        const dir = path.join(session.outdir, session.manifest.forStack(stack).workingDirectory);
        writePreview(path.join(dir, "hosts"), hosts);
        for (const write of writers) write(dir);
      },
    };
    stack.synthesizer = wrapped;
    const checks = state.checks;
    stack.node.addValidation({ validate: () => checks.flatMap((c) => c(stack)) });
  }
  return state;
}

/** Registers a host whose files are previewed under `hosts/<hostId>/`. */
export function registerFileHost(host: IFileHost): void {
  stateOf(TerraformStack.of(host)).hosts.push(host);
}

/** Registers, once per stack under `key`, an app-wide check and a writer of stack files. */
export function registerStackOnce(scope: IConstruct, key: symbol, extras: { check?: AppCheck; writer?: StackWriter }): void {
  const stack = TerraformStack.of(scope);
  const holder = stack as unknown as Record<symbol, boolean>;
  if (holder[key]) return;
  Object.defineProperty(stack, key, { value: true, enumerable: false });
  const state = stateOf(stack);
  if (extras.check) state.checks.push(extras.check);
  if (extras.writer) state.writers.push(extras.writer);
}

/** Writes every host's files under `dir/<hostId>/<absolute path>`, replacing an older preview. */
export function writePreview(dir: string, hosts: readonly IFileHost[]): void {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const host of hosts) {
    for (const file of host.hostFiles()) {
      const target = path.join(dir, host.hostId, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.content, { mode: parseInt(file.mode, 8) });
    }
  }
}
