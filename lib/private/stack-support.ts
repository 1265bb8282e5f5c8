/**
 * The few places where cdktf-xen hooks into cdktf's synthesis: writing the
 * host-file preview beside cdk.tf.json, and checks that span the whole app.
 */
import * as fs from "fs";
import * as path from "path";
import { IConstruct } from "constructs";
import { randomUUID } from "crypto";
import { App, Aspects, DefaultTokenResolver, FLAVOUR, ISynthesisSession, IStackSynthesizer, Manifest, StringConcat, TerraformStack, Tokenization } from "./cdk";
import type { HostFile } from "../model";
import { PreviewWriter } from "./preview";
import { writeStableJson } from "./stack-json";

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

/** Context key: `false` leaves cdk.tf.json to the CDK: its resolve of every step resource twice and its own serializer (same bytes, slower, more memory). */
export const STACK_JSON_CONTEXT_KEY = "cdktf-xen:writeStackJson";

/**
 * What cdk.tf.json holds between the CDK's write and the rename of the
 * library's file over it: a document Terraform refuses ("No argument or block
 * type is named"), should the synth be killed right then.
 */
const STACK_JSON_IN_PROGRESS = { "cdktf-xen": "this cdk.tf.json was being written when the synth stopped: synthesize again" };

let synthPass = 0;
let inSynth = false;
let preparing = false;
/** The stack whose synth started when cdktf prepared it, until it is synthesized. */
let prepared: TerraformStack | undefined;

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

/** Whether a synth is running (see enterSynth). */
export function synthesizing(): boolean {
  return inSynth;
}

/**
 * What `oncePerSynth(owner, key, ...)` computed in the synth running now;
 * undefined outside a synth, or when nothing asked for it in this one.
 */
export function computedThisSynth<T>(owner: object, key: symbol): T | undefined {
  if (!inSynth) return undefined;
  const hit = (owner as Record<symbol, { pass: number; value: T } | undefined>)[key];
  return hit && hit.pass === synthPass ? hit.value : undefined;
}

/**
 * Where a synth starts: when cdktf prepares the app's one stack (see
 * synthesizedAsPrepared), else when it synthesizes a stack. A stack prepared
 * again, or synthesized without having been prepared, starts a new one.
 */
function enterSynth(stack: TerraformStack, toPrepare: boolean): void {
  if (!inSynth || (prepared === stack) === toPrepare) synthPass += 1;
  inSynth = true;
  prepared = toPrepare ? stack : undefined;
}

/** The synth is over once its stack is synthesized, or failed. */
function leaveSynth(): void {
  prepared = undefined;
  inSynth = false;
}

/**
 * Whether what cdktf synthesizes right after preparing `stack` is `stack`,
 * as it is now: it is the app's one stack (else another stack's failure
 * could end the synth between the two), and no Aspect is attached anywhere
 * (cdktf invokes aspects, which may change the tree, after preparing).
 */
function synthesizedAsPrepared(stack: TerraformStack): boolean {
  const all = App.of(stack).node.findAll();
  return all.every((c) => c === stack || !TerraformStack.isStack(c)) && all.every((c) => Aspects.of(c).all.length === 0);
}

/**
 * Has the library write `stack`'s cdk.tf.json (stack-json.ts) while the
 * CDK's synthesizer runs: everything else it does (aspects, validations,
 * custom synthesis, annotations) is left to it. The synthesizer asks for the
 * stack's JSON last, once it has collected the annotations into the manifest
 * (a new list replaces the manifest's): that call's document is written into
 * `cdk.tf.json.partial`, and the synthesizer is given a small document in its
 * place to write. `commit` renames the library's file over it once the
 * synthesizer is done: cdk.tf.json is never half-written. Any earlier call
 * (an aspect or a validation asking for the JSON), HCL output, and a document
 * with anything but plain JSON data are left to the CDK as they are. Every
 * call's document is built with the step resources' bodies resolved once
 * (documentWithBodiesResolvedOnce).
 */
function writeStackJsonAtSynth(stack: TerraformStack, session: ISynthesisSession): { commit(): void; release(): void } {
  const manifest = session.manifest.forStack(stack);
  const collecting = manifest.annotations;
  const file = path.join(session.outdir, manifest.synthesizedStackPath);
  const partial = `${file}.partial`;
  const toTerraform = stack.toTerraform;
  let staged = false;
  stack.toTerraform = function (this: TerraformStack) {
    const tf = documentWithBodiesResolvedOnce(this, () => toTerraform.call(this));
    if (staged || manifest.annotations === collecting || !writeStableJson(partial, tf, FLAVOUR.json)) return tf;
    staged = true;
    return STACK_JSON_IN_PROGRESS;
  };
  return {
    commit() {
      if (staged) fs.renameSync(partial, file);
      staged = false;
    },
    release() {
      delete (stack as { toTerraform?: unknown }).toTerraform;
      if (stack.toTerraform !== toTerraform) stack.toTerraform = toTerraform;
      if (staged) fs.rmSync(partial, { force: true });
    },
  };
}

/** A resource's body resolved by resolvedOnce, and the marker that stands for it in cdktf's document until it is put back. */
interface ResolvedBody {
  readonly type: string;
  readonly id: string;
  readonly marker: string;
  readonly body: unknown;
}

/** While the library asks cdktf for a stack's document (documentWithBodiesResolvedOnce): that stack, and the bodies resolved so far. */
let resolvingOnce: { readonly stack: TerraformStack; readonly tag: string; readonly bodies: ResolvedBody[] } | undefined;

/** The resolver cdktf's stack resolves its document with (a string concatenator, no state). */
const RESOLVER = new DefaultTokenResolver(new StringConcat());

/**
 * The fragment of one resource (`{ resource: { TYPE: { ID: body } } }`) as
 * cdktf's TerraformStack.toTerraform is to be given it. cdktf resolves every
 * element's fragment, merges them, then resolves the whole document a second
 * time, though what the first pass made holds no token any more: at 10 dom0s
 * that second walk was a sixth of the synth. While the library asks for the
 * document (documentWithBodiesResolvedOnce), the body is resolved here, as
 * cdktf resolves an element's fragment (same scope, resolver and path), and
 * cdktf is given a marker in its place, which the library puts the body back
 * over once cdktf is done; at any other time the fragment is returned as it is.
 */
export function resolvedOnce(stack: TerraformStack, type: string, id: string, body: unknown): unknown {
  const fragment = { resource: { [type]: { [id]: body } } };
  const once = resolvingOnce;
  if (once === undefined || once.stack !== stack) return fragment;
  const resolved = Tokenization.resolve(fragment, { scope: stack, preparing: false, resolver: RESOLVER }) as { resource: Record<string, Record<string, unknown>> };
  const marker = `${once.tag}${once.bodies.length}`;
  once.bodies.push({ type, id, marker, body: resolved.resource[type][id] });
  return { resource: { [type]: { [id]: marker } } };
}

/**
 * `build()` (cdktf's toTerraform of `stack`) with the bodies of resources
 * given by resolvedOnce resolved once, and put back where cdktf left their
 * markers. A marker not found where it was given (a stack override changed
 * that resource) has the document built again without markers, as cdktf
 * builds it.
 */
function documentWithBodiesResolvedOnce(stack: TerraformStack, build: () => any): any {
  const once: NonNullable<typeof resolvingOnce> = { stack, tag: `cdktf-xen:resolved-once:${randomUUID()}:`, bodies: [] };
  resolvingOnce = once;
  let tf: any;
  try {
    tf = build();
  } finally {
    resolvingOnce = undefined;
  }
  for (const b of once.bodies) {
    const byId = tf?.resource?.[b.type];
    if (byId?.[b.id] !== b.marker) return build();
    byId[b.id] = b.body;
  }
  return tf;
}

/** The directory cdktf synthesizes `stack` into. */
export function stackDirectory(stack: TerraformStack): string {
  return path.join(App.of(stack).outdir, Manifest.stacksFolder, stack.node.id);
}

interface StackState {
  readonly hosts: IFileHost[];
  readonly checks: AppCheck[];
  readonly writers: StackWriter[];
  /** The preview started while preparing: for which synth, into which directory. */
  preview?: { readonly synth: number; readonly dir: string; readonly writer: PreviewWriter; readonly made: boolean };
}

/** The preview's writer, started with every host's files (rendered now, once per synth). */
function startPreview(dir: string, hosts: readonly IFileHost[]): PreviewWriter {
  const writer = new PreviewWriter(dir);
  try {
    for (const host of hosts) writer.add(host.hostId, host._hostFiles());
  } catch (e) {
    writer.abort();
    throw e;
  }
  return writer;
}

function stateOf(stack: TerraformStack): StackState {
  const holder = stack as unknown as { [ATTACHED]?: StackState };
  let state = holder[ATTACHED];
  if (!state) {
    const own: StackState = (state = { hosts: [], checks: [], writers: [] });
    Object.defineProperty(stack, ATTACHED, { value: state, enumerable: false });
    const previewing = () => stack.node.tryGetContext(PREVIEW_CONTEXT_KEY) !== false;
    const prepare = stack.prepareStack.bind(stack);
    stack.prepareStack = () => {
      own.preview?.writer.abort();
      own.preview = undefined;
      // Only then does the synth start here: in an app of several stacks, one that another's failure keeps from being
      // synthesized would otherwise hold the synth open after app.synth() has thrown.
      const early = synthesizedAsPrepared(stack);
      if (early) {
        enterSynth(stack, true);
        // The tree is final: the files are rendered now (once for the synth), and the preview is written by a worker thread
        // while cdktf prepares and synthesizes. A host that fails to render is left to the synth, which reports it where it
        // always does.
        try {
          if (previewing()) {
            const dir = stackDirectory(stack);
            const made = !fs.existsSync(dir);
            fs.mkdirSync(dir, { recursive: true });
            own.preview = { synth: synthPass, dir, made, writer: startPreview(dir, own.hosts) };
          }
        } catch {
          own.preview?.writer.abort();
          own.preview = undefined;
        }
      }
      preparing = true;
      try {
        prepare();
      } catch (e) {
        own.preview?.writer.abort();
        own.preview = undefined;
        if (early) leaveSynth();
        throw e;
      } finally {
        preparing = false;
      }
    };
    const inner = stack.synthesizer;
    const wrapped: IStackSynthesizer = {
      synthesize(session: ISynthesisSession) {
        enterSynth(stack, false);
        const dir = path.join(session.outdir, session.manifest.forStack(stack).workingDirectory);
        const early = own.preview?.synth === synthPass && own.preview.dir === dir ? own.preview : undefined;
        if (!early) own.preview?.writer.abort();
        own.preview = undefined;
        const made = early ? early.made : !fs.existsSync(dir);
        let preview = early?.writer;
        const stackJson = stack.node.tryGetContext(STACK_JSON_CONTEXT_KEY) !== false ? writeStackJsonAtSynth(stack, session) : undefined;
        let failed = true;
        try {
          // cdktf validates before it writes cdk.tf.json: a failed synth writes no preview either.
          inner.synthesize(session);
          stackJson?.commit();
          if (!preview && previewing()) preview = startPreview(dir, own.hosts);
          preview?.finish();
          preview = undefined;
          for (const write of own.writers) write(dir);
          failed = false;
        } finally {
          stackJson?.release();
          if (failed) {
            preview?.abort();
            if (made) fs.rmSync(dir, { recursive: true, force: true });
          }
          leaveSynth();
        }
      },
    };
    stack.synthesizer = wrapped;
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
