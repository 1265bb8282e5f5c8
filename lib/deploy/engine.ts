/**
 * Turns deploy steps into Terraform resources: `null_resource` (with its
 * provider block) or `terraform_data`, both written as plain Terraform
 * resources, so that no prebuilt provider package is needed by either flavour.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { IConstruct } from "constructs";
import { FLAVOUR, Fn, SSHProvisionerConnection, TerraformProvider, TerraformResource, TerraformStack, Token } from "../private/cdk";
import { isPreparing, oncePerSynth, registerStackOnce, resolvedOnce } from "../private/stack-support";
import { PropSite, XenPropError } from "../validation/errors";
import { parseHostKey } from "../validation/host-key";
import { parseAbsolutePath } from "../validation/names";
import { SCRIPT_PATH } from "../private/paths";
import { renderStepScript, StepModel } from "./step";

/** Context key choosing the resource that carries the provisioners. */
export const ENGINE_CONTEXT_KEY = "cdktf-xen:engine";
/** `null_resource` (needs the null provider; the default of cdktf-xen) or `terraform_data` (built into Terraform >= 1.4 and OpenTofu; the default of cdktn-xen). */
export const ENGINES = ["null_resource", "terraform_data"] as const;
export type Engine = (typeof ENGINES)[number];

/** The engine set in the app's context (cdktf.json `context`), checked. */
export function engineOf(scope: IConstruct): Engine {
  const value: unknown = scope.node.tryGetContext(ENGINE_CONTEXT_KEY) ?? FLAVOUR.engine;
  if (!(ENGINES as readonly unknown[]).includes(value)) {
    throw new XenPropError({ path: scope.node.path, prop: `context "${ENGINE_CONTEXT_KEY}"` }, value, `expected one of ${ENGINES.join(", ")}`);
  }
  return value as Engine;
}

/** One SSH endpoint. */
export interface SshEndpoint {
  readonly host: string;
  readonly user: string;
  readonly port: number;
  /** A token (reference to a sensitive variable); without it the SSH agent is used. */
  readonly privateKey?: string;
  readonly hostKey?: string;
}

/** How a step reaches its host: directly, or through a bastion (a guest through its dom0). */
export interface StepConnection extends SshEndpoint {
  readonly bastion?: SshEndpoint;
}

/** A host key to pin: a token (a variable's value) as written, a literal key checked at synth. */
export function connectionHostKey(value: string | undefined, site: PropSite): string | undefined {
  return value === undefined || Token.isUnresolved(value) ? value : parseHostKey(value, site);
}

/**
 * The private key of a connection: a reference to a sensitive variable
 * (whose value Terraform writes into every plan file), or the path of a key
 * file on the machine that runs Terraform, read only when a step connects
 * (`file()`), so that the key is in no file Terraform or cdktf writes.
 */
export function connectionPrivateKey(key: string | undefined, keyFile: string | undefined, site: (prop: string) => PropSite): string | undefined {
  if (key !== undefined && keyFile !== undefined) {
    throw new XenPropError(site("ssh.privateKeyFile"), keyFile, "set ssh.privateKey or ssh.privateKeyFile, not both");
  }
  if (key !== undefined && !Token.isUnresolved(key)) {
    throw new XenPropError(site("ssh.privateKey"), "(a literal key, not shown)", "pass a reference to a sensitive TerraformVariable (keyVar.value), or the key's path as ssh.privateKeyFile; never the key itself: it would be written into cdk.tf.json");
  }
  if (keyFile === undefined) return key;
  if (Token.isUnresolved(keyFile)) return Fn.file(Fn.pathexpand(keyFile));
  const home = typeof keyFile === "string" && keyFile.startsWith("~/");
  try {
    parseAbsolutePath(home ? keyFile.slice(1) : keyFile, site("ssh.privateKeyFile"));
  } catch {
    throw new XenPropError(site("ssh.privateKeyFile"), keyFile, "expected the absolute path of a private key file on the machine that runs Terraform, or one under ~/ (such as ~/.ssh/id_ed25519)");
  }
  return home ? Fn.file(Fn.pathexpand(keyFile)) : Fn.file(keyFile);
}

/**
 * `cdktf diff` runs `terraform plan -out plan` in the stack's directory, and
 * a plan file holds the value of every variable, sensitive ones (an SSH key)
 * too. Terraform truncates an existing plan file and keeps its mode, so the
 * stack's directory gets one that only its owner can read, and a
 * `.gitignore` that keeps it out of a repository that publishes the
 * `hosts/` preview beside it.
 */
export function guardPlanFile(dir: string): void {
  const plan = path.join(dir, "plan");
  // A link (or anything but a file) there is replaced: never written through.
  if (fs.lstatSync(plan, { throwIfNoEntry: false })?.isFile() === false) fs.rmSync(plan, { recursive: true });
  const fd = fs.openSync(plan, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(path.join(dir, ".gitignore"), "# Written by cdktf-xen: a plan file holds the values of sensitive variables.\n/plan\n");
}

const PLAN_GUARD = Symbol.for("cdktf-xen.guardPlanFile");

/** The SSH connection block, the same for both engines. */
export function connectionBlock(c: StepConnection): SSHProvisionerConnection {
  return {
    type: "ssh",
    host: c.host,
    user: c.user,
    port: c.port,
    ...(c.privateKey ? { privateKey: c.privateKey, agent: "false" } : { agent: "true" }),
    ...(c.hostKey ? { hostKey: c.hostKey } : {}),
    scriptPath: SCRIPT_PATH,
    ...(c.bastion
      ? {
          bastionHost: c.bastion.host,
          bastionUser: c.bastion.user,
          bastionPort: c.bastion.port,
          ...(c.bastion.privateKey ? { bastionPrivateKey: c.bastion.privateKey } : {}),
          ...(c.bastion.hostKey ? { bastionHostKey: c.bastion.hostKey } : {}),
        }
      : {}),
  };
}

/** What a step resource holds, rendered at synth. */
interface StepValues {
  readonly triggers: Record<string, string>;
  readonly scripts: readonly string[];
}

/** What cdktf's preparing resolve sees (its output is thrown away): nothing rendered. */
const PREPARING: StepValues = { triggers: {}, scripts: [] };

/**
 * The resource that carries a step's provisioners: `terraform_data` (its
 * trigger `triggers_replace`) or `null_resource` (`triggers`), written
 * directly, without cdktf's per-resource `terraform version` check (one
 * subprocess per resource) or a prebuilt provider package. Its triggers,
 * scripts and `depends_on` are plain values filled in when cdktf asks for
 * the resource's Terraform, not tokens: cdktf resolves them as it does any
 * literal, without a resolve context per value.
 */
class StepResource extends TerraformResource {
  /** The resources this one's step runs after. */
  readonly after: TerraformResource[] = [];
  private triggers: Record<string, string> = {};

  constructor(
    scope: IConstruct,
    id: string,
    engine: Engine,
    private readonly values: () => StepValues,
    connection: SSHProvisionerConnection,
  ) {
    super(scope as never, id, {
      terraformResourceType: engine,
      terraformGeneratorMetadata: engine === "terraform_data" ? { providerName: "terraform" } : NULL_PROVIDER_METADATA,
      connection,
    });
  }

  /** Set once anything cdktf's generic conversion writes besides a step's own fields is asked of the resource. */
  private generic = false;

  toTerraform(): any {
    const generic = this.generic || this.count !== undefined || this.forEach !== undefined || this.lifecycle !== undefined || this.provider !== undefined;
    if (!generic && isPreparing()) return this.preparingTerraform();
    this.fill();
    return generic ? super.toTerraform() : this.stepTerraform();
  }

  /**
   * What cdktf's preparing resolve is given for a step resource nobody
   * changed. That run only looks for tokens that need a cross-stack
   * reference (it adds the other stack's output and the remote state), and
   * throws its output away. Triggers, scripts and depends_on are this
   * library's own text and hold no token (a script with `${` is refused), so
   * only a connection that holds one (a host or key from a variable or
   * another stack) is given; any other resource gives nothing to resolve.
   */
  private preparingTerraform(): any {
    const connection = this.connection as Record<string, unknown> | undefined;
    if (connection === undefined) return {};
    this.connectionTokens ??= Object.values(connection).some((v) => Token.isUnresolved(v));
    return this.connectionTokens ? { resource: { [this.terraformResourceType]: { [this.node.id]: { connection } } } } : {};
  }
  private connectionTokens?: boolean;

  /**
   * What cdktf's own toTerraform returns for a resource with no override,
   * move, import, count, for_each, lifecycle or provider (a step resource
   * nobody changed): the same keys in the same order, built directly instead
   * of by cdktf's conversion of every key of every resource (a fleet has
   * thousands of step resources), and resolved once (resolvedOnce) when the
   * library asks for the stack's document.
   */
  private stepTerraform(): any {
    const attributes: Record<string, unknown> = { ...this.synthesizeAttributes() };
    if (this.dependsOn !== undefined) attributes.depends_on = this.dependsOn;
    if (this.connection !== undefined) attributes.connection = snakeKeys(this.connection);
    if (this.provisioners !== undefined) attributes.provisioner = this.provisioners.map(({ type, ...props }) => ({ [type]: snakeKeys(props) }));
    attributes["//"] = this.constructNodeMetadata;
    return resolvedOnce(this.cdktfStack, this.terraformResourceType, this.friendlyUniqueId, attributes);
  }

  addOverride(path: string, value: any): void {
    this.generic = true;
    super.addOverride(path, value);
  }

  importFrom(id: string, provider?: TerraformProvider): void {
    this.generic = true;
    super.importFrom(id, provider);
  }

  moveTo(moveTarget: string, index?: string | number): void {
    this.generic = true;
    super.moveTo(moveTarget, index);
  }

  moveToId(id: string): void {
    this.generic = true;
    super.moveToId(id);
  }

  moveFromId(id: string): void {
    this.generic = true;
    super.moveFromId(id);
  }

  toHclTerraform(): any {
    this.fill();
    return super.toHclTerraform();
  }

  private fill(): void {
    const preparing = isPreparing();
    const { triggers, scripts } = preparing ? PREPARING : this.values();
    this.triggers = triggers;
    this.provisioners = scripts.map((script) => ({ type: "remote-exec" as const, inline: [script] }));
    // depends_on takes bare addresses (`null_resource.x`, no `${}`). cdktf's own dependable() builds a
    // reference token, stack trace included, each time it resolves: too slow for a fleet's thousands of edges.
    this.dependsOn = preparing || !this.after.length ? undefined : this.after.map((r) => `${r.terraformResourceType}.${r.friendlyUniqueId}`);
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return this.terraformResourceType === "terraform_data" ? { triggers_replace: this.triggers } : { triggers: this.triggers };
  }
}

/**
 * A block as cdktf writes it: its keys in snake case (they are camel case
 * words here), its values as they are, none that is undefined.
 */
function snakeKeys(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    let snake = SNAKE.get(k);
    if (snake === undefined) SNAKE.set(k, (snake = k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()));
    out[snake] = v;
  }
  return out;
}
const SNAKE = new Map<string, string>();

/** hashicorp/null, pinned as the prebuilt binding of cdktf 0.21 pinned it. */
const NULL_PROVIDER_METADATA = { providerName: "null", providerVersion: "3.2.4", providerVersionConstraint: "~> 3.0" };

/** The `null` provider block: no attributes. */
class NullProvider extends TerraformProvider {
  constructor(scope: TerraformStack, id: string) {
    super(scope as never, id, { terraformResourceType: "null", terraformGeneratorMetadata: NULL_PROVIDER_METADATA, terraformProviderSource: "null" });
  }

  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {};
  }
}

const NULL_PROVIDER = Symbol.for("cdktf-xen.null-provider");

function ensureNullProvider(stack: TerraformStack): void {
  const holder = stack as unknown as Record<symbol, unknown>;
  if (holder[NULL_PROVIDER]) return;
  const provider = new NullProvider(stack, "cdktf-xen-null");
  Object.defineProperty(stack, NULL_PROVIDER, { value: provider, enumerable: false });
}

export interface DeployStepProps {
  /** The step; called at synth, when the construct tree is complete. */
  readonly step: () => StepModel;
  readonly connection: StepConnection;
  /**
   * A second step of the same resource, run after the first over an SSH
   * connection of its own (Terraform connects afresh for each provisioner).
   * When it fails the resource is tainted, so the next deploy runs both
   * again: what the first did is never taken as done without the second.
   * @default - none
   */
  readonly then?: () => StepModel;
}

/** sha256 of a text, hex. */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * A resource whose remote-exec provisioner runs the step's script on its
 * host (and a second one `then`'s). Its triggers are content hashes, so an
 * unchanged step is never replaced. The script is rendered once per synth.
 */
export function deployStep(scope: IConstruct, id: string, props: DeployStepProps): TerraformResource {
  // Field by field: V8 builds an object spread with a property added after it (owner) slowly, and a fleet has thousands of steps.
  const owned = (m: StepModel): StepModel => ({ host: m.host, concern: m.concern, files: m.files, validate: m.validate, activate: m.activate, owner: `${ownerStack(scope)}/${m.host}` });
  const step = () => oncePerSynth(memo, STEP, () => owned(props.step()));
  const script = () => stepScript(step());
  const memo = {};
  const then = props.then;
  const thenScript = () => (then ? stepScript(oncePerSynth(memo, THEN, () => owned(then()))) : "");
  const digest = () => oncePerSynth(memo, DIGEST, () => sha256(script() + thenScript()));
  const values = (): StepValues => ({
    triggers: { step: `${step().host}/${step().concern}`, script_sha256: digest() },
    scripts: then ? [script(), thenScript()] : [script()],
  });
  const connection = connectionBlock(props.connection);
  registerStackOnce(scope, PLAN_GUARD, { writer: guardPlanFile });
  const engine = engineOf(scope);
  if (engine === "null_resource") ensureNullProvider(TerraformStack.of(scope));
  const resource = new StepResource(scope, id, engine, values, connection);
  digests.set(resource, digest);
  return resource;
}

/** The script digest of each step resource, as its trigger holds it. */
const digests = new WeakMap<TerraformResource, () => string>();

/**
 * The digest of every step resource among `resources`, in one: a step that
 * holds it in its script runs again whenever one of them changes. Call it at
 * synth (from a step's model), when the construct tree is complete.
 */
export function stepsDigest(resources: readonly IConstruct[]): string {
  return sha256(resources.map((r) => (r instanceof TerraformResource ? digests.get(r)?.() ?? "" : "")).join("\n"));
}

/** The stack's name as an owner marker holds it: as written when it is a plain word, else a hash of it. */
function ownerStack(scope: IConstruct): string {
  const id = TerraformStack.of(scope).node.id;
  return /^[A-Za-z0-9_.-]+$/.test(id) ? id : `stack-${sha256(id).slice(0, 12)}`;
}

const STEP = Symbol("step");
const THEN = Symbol("then");
const DIGEST = Symbol("digest");

const scripts = new WeakMap<StepModel, string>();

/**
 * The remote-exec script of a step, rendered once per step model: steps are
 * memoized for a synth, so every resource that needs the script (the step's
 * own, and one whose trigger follows it) shares one rendering.
 */
export function stepScript(step: StepModel): string {
  let script = scripts.get(step);
  if (script === undefined) {
    script = renderStepScript(step);
    scripts.set(step, script);
  }
  return script;
}

/** Makes the step of `resource` run after that of `dependency` (its `depends_on`); both made by deployStep. */
export function addDependency(resource: TerraformResource, dependency: TerraformResource): void {
  if (!(resource instanceof StepResource)) throw new Error(`cdktf-xen: ${resource.node.path} is not a deploy step's resource`);
  resource.after.push(dependency);
}
