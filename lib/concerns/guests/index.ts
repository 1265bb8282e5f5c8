/**
 * The guests of a dom0: each guest's xl cfg, and the inventory that shuts
 * down and removes the guests that left the code.
 */
import type { GuestModel } from "../../model";
import { renderXlCfg } from "../../render/xl-cfg";
import type { StepModel } from "../../deploy/step";
import { inventoryStep } from "../inventory";

/** How long a guest may take to shut down before a step gives up on it. */
export const GUEST_SHUTDOWN_SECONDS = 300;

/** Where a guest's xl cfg lives on its dom0. */
export function xlCfgPath(guest: GuestModel): string {
  return `/etc/xen/${guest.name}.cfg`;
}

/**
 * `xl shutdown -w` that gives up after `seconds`: a guest that hangs in its
 * shutdown would hold the dom0's lock, and every later step, for ever.
 */
function xlShutdown(word: string, shown: string, seconds: number): string {
  return `timeout ${seconds} xl shutdown -w ${word} || { echo "guest ${shown} did not shut down within ${seconds} s and keeps running: shut it down (or xl destroy it), then deploy again" >&2; exit 1; }`;
}

/** What a guest's cfg step does when the guest runs. */
export interface GuestCfgOptions {
  /** Restart a running guest whose cfg changed. */
  readonly restartOnChange: boolean;
  /** How long the guest may take to shut down. */
  readonly shutdownSeconds: number;
}

/**
 * The guest's xl cfg on its dom0: checked by `xl create -n` (a dry run), and
 * the guest created when it is not running. A running guest is restarted only
 * when asked (`restartOnChange`) and its cfg changed; otherwise the new cfg
 * takes effect the next time it is created.
 */
export function guestCfgStep(host: string, guest: GuestModel, opts: GuestCfgOptions): StepModel {
  const path = xlCfgPath(guest);
  return {
    host,
    concern: `guest-${guest.name}`,
    files: [{ path, content: renderXlCfg(guest), mode: "0644" }],
    validate: [
      'command -v xl >/dev/null 2>&1 || { echo "xl not found: this host is not a Xen dom0" >&2; exit 1; }',
      'xl create -n "$NEW1" >/dev/null',
    ].join("\n"),
    activate: [
      `if ! xl list ${guest.name} >/dev/null 2>&1; then`,
      `  xl create ${path}`,
      ...(opts.restartOnChange
        ? [
            `elif ! cmp -s ${path} ${path}.cdktf-xen.bak; then`,
            `  echo "${guest.name} is running and its cfg changed: restarting it (restartOnChange)"`,
            `  ${xlShutdown(guest.name, guest.name, opts.shutdownSeconds)}`,
            `  xl create ${path}`,
          ]
        : []),
      "else",
      `  echo "${guest.name} is running; ${path} takes effect when it is next created"`,
      "fi",
    ].join("\n"),
  };
}

/**
 * The dom0's inventory of guests. It runs before every guest's cfg step, so
 * a guest that left (or was renamed) has given up its addresses and MACs
 * before another guest claims them.
 */
export function guestsInventoryStep(host: string, names: readonly string[], shutdownSeconds = GUEST_SHUTDOWN_SECONDS): StepModel {
  return inventoryStep(host, "guests", names, {
    noun: "guest",
    before: [],
    removeOne: [`  if xl list "$name" >/dev/null 2>&1; then ${xlShutdown('"$name"', "$name", shutdownSeconds)}; fi`, '  rm -f "/etc/xen/$name.cfg"'],
    after: [],
  });
}
