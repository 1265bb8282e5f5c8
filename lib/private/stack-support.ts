/**
 * The few places where cdktf-xen hooks into cdktf's synthesis: writing the
 * host-file preview beside cdk.tf.json, and checks that span the whole app.
 */
import * as fs from "fs";
import * as path from "path";
import { IConstruct } from "constructs";
import { FLAVOUR, ISynthesisSession, IStackSynthesizer, TerraformStack } from "./cdk";
import type { HostFile } from "../model";
import { PreviewWriter } from "./preview";

/** A construct that stands for one machine receiving files. */
export interface IFileHost extends IConstruct {
  /** Directory name of this host in the preview (its construct id). */
  readonly hostId: string;
  /** Every file this host receives, rendered. */
  _hostFiles(): HostFile[];
}

/** Writes extra files of the stack (the topology) at synth. */
export type StackWriter = (dir: string) => void;

/** Checks that need the whole app (duplicate addresses, MACs, names). */
export type AppCheck = (stack: TerraformStack) => string[];

const ATTACHED = Symbol.for("cdktf-xen.stack-support");

/** Context key: `false` skips writing the host-file preview (large fleets, CI that does not review it). */
export const PREVIEW_CONTEXT_KEY = "cdktf-xen:preview";

let synthPass = 0;
let inSynth = false;
let preparing = false;

/**
 * True while cdktf's preparing resolve runs (`prepareStack`, before
 * `synthesize`). That run looks for tokens that need cross-stack references
 * and throws its output away; the values this library computes at synth are
 * rendered from checked props and hold no tokens, so they may skip it.
 */
export function isPreparing(): boolean {
  return preparing;
}

/**
 * Memoizes `compute` for the duration of one synth: the tree is complete and
 * does not change while cdktf synthesizes, so every host renders its files
 * once. Outside a synth nothing is cached.
 */
export function oncePerSynth<T>(owner: object, key: symbol, compute: () => T): T {
  if (!inSynth) return compute();
  const holder = owner as Record<symbol, { pass: number; value: T } | undefined>;
  const hit = holder[key];
  if (hit && hit.pass === synthPass) return hit.value;
  const value = compute();
  Object.defineProperty(owner, key, { value: { pass: synthPass, value }, enumerable: false, configurable: true });
  return value;
}

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
        synthPass += 1;
        inSynth = true;
        const dir = path.join(session.outdir, session.manifest.forStack(stack).workingDirectory);
        const made = !fs.existsSync(dir);
        let preview: PreviewWriter | undefined;
        try {
          if (stack.node.tryGetContext(PREVIEW_CONTEXT_KEY) !== false) {
            fs.mkdirSync(dir, { recursive: true });
            preview = new PreviewWriter(dir);
            // Rendered now (once per synth, as cdktf would later) so that the writer starts at once. A host that
            // fails to render is left to the synth, which reports it where it always does (a validation, mostly).
            const later = hosts.filter((host) => {
              try {
                preview!.add(host.hostId, host._hostFiles());
                return false;
              } catch {
                return true;
              }
            });
            inner.synthesize(session);
            for (const host of later) preview.add(host.hostId, host._hostFiles());
            preview.finish();
            preview = undefined;
          } else {
            inner.synthesize(session);
          }
          for (const write of writers) write(dir);
        } catch (e) {
          // cdktf validates before it writes cdk.tf.json: a failed synth writes no preview either.
          preview?.abort();
          if (made) fs.rmSync(dir, { recursive: true, force: true });
          throw e;
        } finally {
          inSynth = false;
        }
      },
    };
    stack.synthesizer = wrapped;
    const prepare = stack.prepareStack.bind(stack);
    stack.prepareStack = () => {
      preparing = true;
      try {
        prepare();
      } finally {
        preparing = false;
      }
    };
    const checks = state.checks;
    stack.node.addValidation({ validate: () => checks.flatMap((c) => c(stack)) });
  }
  return state;
}

/**
 * Refuses a construct whose stack is not a TerraformStack of the CDK module
 * this package imports: cdktf-xen inside a CDK Terrain app (or cdktn-xen in a
 * cdktf app, or a second copy of the module) would otherwise fail deep inside
 * synth, naming neither.
 */
export function checkStackModule(scope: IConstruct): void {
  const stack: IConstruct = TerraformStack.of(scope);
  if (stack instanceof TerraformStack) return;
  throw new Error(
    `${scope.node.path}: its stack ${JSON.stringify(stack.node.path)} is not a TerraformStack of the ${FLAVOUR.cdk} module ${FLAVOUR.pkg} loads: ` +
      `a cdktf app takes cdktf-xen, a CDK Terrain (cdktn) app takes cdktn-xen; with the right one, the project must hold one copy of ${FLAVOUR.cdk} (npm ls ${FLAVOUR.cdk})`,
  );
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
