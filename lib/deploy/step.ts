import type { HostFile } from "../model";
import { PENDING_SUFFIX, SCRIPT_PATH, STATE_DIR } from "../paths";

/** A file a step installs: text, or any bytes. */
export interface StepFile extends Omit<HostFile, "content"> {
  readonly content: string | Uint8Array;
}

/**
 * One deploy step: the files of one (host, concern), how to check them before
 * they replace anything, and how to make them take effect.
 *
 * Shell snippets run in their own `sh -eu` (so `set -e` really holds inside
 * them) with the staged copies of the files in `$NEW1`, `$NEW2`, ... in the
 * order of `files`. Snippets are written by this library only: they never
 * contain user text that was not first checked against a strict pattern, and
 * never `${` or `%{` (Terraform would read them as template sequences).
 */
export interface StepModel<F extends StepFile = HostFile> {
  /** Host name for messages, e.g. `dom0` (a construct id checked against [A-Za-z0-9_-]). */
  readonly host: string;
  /** Concern, e.g. `firewall`. */
  readonly concern: string;
  readonly files: readonly F[];
  /** Checks the staged files with the program that reads them; exits non-zero to refuse. */
  readonly validate: string;
  /** Makes the installed files take effect; a failure restores the previous files and runs this again. */
  readonly activate: string;
  /**
   * Who deploys to this host, `<stack>/<host id>`: the first step on a host
   * writes it to /var/lib/cdktf-xen/owner; a step of another owner fails
   * before it changes anything, naming both.
   * @default - the host's owner is not checked
   */
  readonly owner?: string;
}


/** Terraform's uploads of step scripts, as a `find -name` pattern. */
const UPLOADS = SCRIPT_PATH.slice(SCRIPT_PATH.lastIndexOf("/") + 1).replace("%RAND%", "*");

const SAFE_WORD = /^[A-Za-z0-9_.-]+$/;
const SAFE_PATH = /^\/[A-Za-z0-9._+@%=/-]+$/;

/** Where a step puts a file: its path, or beside it while it is pending. */
function target(f: StepFile): string {
  return f.pending ? `${f.path}${PENDING_SUFFIX}` : f.path;
}

function base64(content: string | Uint8Array): string {
  return (typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)).toString("base64");
}

/**
 * `sh -eu` fed by a quoted here-document; `after` continues the first line
 * (`|| fail ...`). The lock's descriptor is closed for it, so that daemons it
 * starts (Apache, the firewall watchdog) never hold the host's lock.
 */
function subshell(tag: string, body: string, after = ""): string[] {
  if (body.split("\n").includes(tag)) throw new Error(`step snippet contains its own terminator ${tag}`);
  return [`sh -eu 9>&- <<'${tag}'${after}`, body.trimEnd() || ":", tag];
}

/**
 * The remote-exec script of a step: stage every file next to its target,
 * validate, keep a backup of every file, then rename each into place (all or
 * none: a journal lets a run after a killed one finish with the right
 * backups), activate; on
 * a failed activation put every previous file back, activate again, and exit
 * non-zero naming host, step and reason. Running it twice leaves the same state.
 */
export function renderStepScript(step: StepModel<StepFile>): string {
  for (const word of [step.host, step.concern, ...(step.owner === undefined ? [] : step.owner.split("/"))]) {
    if (!SAFE_WORD.test(word)) throw new Error(`step name ${JSON.stringify(word)} cannot be written into a script`);
  }
  for (const f of step.files) {
    if (!SAFE_PATH.test(f.path) || f.path.split("/").includes("..")) throw new Error(`step path ${JSON.stringify(f.path)} cannot be written into a script`);
    if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`step mode ${JSON.stringify(f.mode)} is not an octal mode`);
  }
  const n = step.files.length;
  const idx = step.files.map((_, i) => i + 1);
  const out: string[] = [
    "#!/bin/sh",
    `# cdktf-xen deploy step ${step.host}/${step.concern}: generated, runs as root on the host.`,
    "set -eu",
    "# Terraform uploaded this script world-writable and leaves it behind: root's alone from here;",
    "# what earlier steps left over an hour ago goes.",
    'if [ -f "$0" ]; then chmod 0600 "$0"; fi',
    `find "$(dirname "$0")" -maxdepth 1 -type f -name '${UPLOADS}' -mmin +60 -delete 2>/dev/null || :`,
    "umask 022",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "export PATH",
    `step='${step.host}/${step.concern}'`,
    'fail() { echo "cdktf-xen: $step: $*" >&2; exit 1; }',
    "tmps=''",
    'trap \'for t in $tmps; do rm -f "$t"; done\' EXIT',
    `mkdir -p ${STATE_DIR}`,
    "# One step at a time on a host (Terraform runs resources in parallel).",
    `exec 9>${STATE_DIR}/lock`,
    'flock -w 600 9 || fail "another cdktf-xen step held the host for 10 minutes"',
    ...(step.owner === undefined
      ? []
      : [
          "# One owner per host: two stacks deploying here would replace each other's files and remove each other's guests.",
          `owner='${step.owner}'`,
          `if [ -e ${STATE_DIR}/owner ]; then`,
          `  had=$(cat ${STATE_DIR}/owner)`,
          `  [ "$had" = "$owner" ] || fail "this host belongs to $had (${STATE_DIR}/owner), not to $owner; nothing changed. If it has changed hands, remove that file"`,
          "else",
          `  echo "$owner" > ${STATE_DIR}/owner.new && mv -f ${STATE_DIR}/owner.new ${STATE_DIR}/owner`,
          "fi",
        ]),
    ...(step.files.length
      ? [
          "# What a killed run left next to the files: its staged temporaries (no other step runs here now).",
          `rm -f ${[...new Set(step.files.map((f) => `${f.path.slice(0, f.path.lastIndexOf("/"))}/.cdktf-xen.??????`))].join(" ")}`,
        ]
      : []),
    "stage() {",
    '  mkdir -p "$(dirname "$1")"',
    '  t=$(mktemp "$(dirname "$1")/.cdktf-xen.XXXXXX") || fail "cannot create a file next to $1"',
    '  tmps="$tmps $t"',
    '  printf \'%s\' "$3" | base64 -d > "$t" || fail "cannot write $1"',
    '  chmod "$2" "$t"',
    "}",
  ];
  step.files.forEach((f, i) => {
    out.push(`stage ${target(f)} ${f.mode} '${base64(f.content)}'`, `NEW${i + 1}=$t`);
  });
  if (n) out.push(`export ${idx.map((i) => `NEW${i}`).join(" ")}`);
  out.push(
    "# Validate the staged files; nothing live has changed yet.",
    ...subshell("CDKTF_XEN_VALIDATE", step.validate, ' || fail "validation failed; the previous files are untouched"'),
    `journal=${STATE_DIR}/installing.${step.host}.${step.concern}`,
  );
  if (n) {
    out.push(
      "# Install all files or none: every backup is made before the first rename. A run killed between",
      "# them leaves its journal; the next run keeps the backups it lists (the files before it) and finishes.",
      'if [ -e "$journal" ]; then interrupted=1; else interrupted=0; fi',
      "# A backup is written beside and renamed over the old one: never through a link someone left there.",
      'keep() { rm -f "$1.cdktf-xen.bak.new"; cp -p "$1" "$1.cdktf-xen.bak.new" && mv -f "$1.cdktf-xen.bak.new" "$1.cdktf-xen.bak"; }',
    );
  }
  step.files.forEach((f, i) => {
    const k = i + 1;
    const p = target(f);
    // A pending file has no previous version to keep: a failed activation removes it.
    if (f.pending) {
      out.push(`HAD${k}=0`);
      return;
    }
    out.push(
      `if [ "$interrupted" = 1 ] && grep -qxF 'path ${p}' "$journal"; then`,
      `  if grep -qxF 'had ${p}' "$journal"; then HAD${k}=1; else HAD${k}=0; fi`,
      // No backup for a new file: a stale one would pose as its previous version.
      `elif [ -e ${p} ]; then keep ${p} || fail "cannot keep a copy of ${p}; nothing changed"; HAD${k}=1`,
      `else rm -f ${p}.cdktf-xen.bak; HAD${k}=0; fi`,
    );
  });
  if (n) {
    out.push(
      `if { ${step.files.map((f, i) => `echo 'path ${target(f)}'; if [ "$HAD${i + 1}" = 1 ]; then echo 'had ${target(f)}'; fi`).join("; ")}; } > "$journal.new" && mv -f "$journal.new" "$journal"; then :; else fail "cannot write $journal; nothing changed"; fi`,
      ...step.files.map((f, i) => `mv -f "$NEW${i + 1}" ${target(f)}`),
    );
  }
  // The backup stays: it still is the file before this step, which a re-activation (the firewall's try) keeps for its own rollback.
  const restore = step.files.map((f, i) => {
    const p = target(f);
    return `  if [ "$HAD${i + 1}" = 1 ]; then rm -f ${p}.cdktf-xen.new; cp -p ${p}.cdktf-xen.bak ${p}.cdktf-xen.new && mv -f ${p}.cdktf-xen.new ${p}; else rm -f ${p}; fi`;
  });
  out.push(
    "activate() {",
    ...subshell("CDKTF_XEN_ACTIVATE", step.activate),
    "}",
    "if ! activate; then",
    ...restore,
    '  rm -f "$journal"',
    '  activate >&2 || echo "cdktf-xen: $step: re-activating the previous files failed too" >&2',
    '  fail "activation failed; the previous files are back"',
    "fi",
    'rm -f "$journal"',
    `echo "cdktf-xen: $step: ${n} file${n === 1 ? "" : "s"} in place and active"`,
    "",
  );
  const script = out.join("\n");
  // Terraform reads ${ and %{ in any string as template sequences; base64 and checked paths never contain them.
  const template = /[$%]\{/.exec(script);
  if (template) throw new Error(`step ${step.host}/${step.concern}: its script contains "${template[0]}", which Terraform would read as a template sequence`);
  return script;
}
