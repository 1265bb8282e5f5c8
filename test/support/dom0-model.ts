/** The reachability model of one dom0, from the files its constructs render: what the proof at synth reads. */
import type { XenHost } from "../../lib";
import { dom0ModelInput } from "../../lib/private/prove";
import { Reachability } from "../../lib/reachability";

export function dom0Reachability(dom0: XenHost): Reachability {
  return Reachability.fromFiles(dom0ModelInput(dom0));
}
