/**
 * The CDK for Terraform this build of the library is for, and the one module
 * that imports it: every other takes its API from here. The cdktn flavour
 * (`cdktn-xen`) is built from the same sources with this file rewritten by
 * `flavours/build.ts`: its imports from `cdktn`, and `FLAVOUR` below.
 */
export { Annotations, App, Aspects, DefaultTokenResolver, Fn, Manifest, StringConcat, TerraformProvider, TerraformResource, TerraformStack, Token, Tokenization } from "cdktf";
export type { IStackSynthesizer, ISynthesisSession, SSHProvisionerConnection } from "cdktf";

/** What differs between the two packages built from these sources. */
export interface Flavour {
  /** The npm package (and its command's name). */
  readonly pkg: string;
  /** The CDK's module, as a user's app imports it. */
  readonly cdk: string;
  /** The CDK's command line (`cdktf deploy`). */
  readonly cli: string;
  /** The engine of deploy steps when the context names none. */
  readonly engine: "null_resource" | "terraform_data";
  /** The serializer the CDK writes cdk.tf.json with, whose bytes the library's own writer matches (stack-json.ts). */
  readonly json: "json-stable-stringify" | "safe-stable-stringify";
}

export const FLAVOUR: Flavour = { pkg: "cdktf-xen", cdk: "cdktf", cli: "cdktf", engine: "null_resource", json: "json-stable-stringify" };
