/**
 * One temporary directory per test run: cdktf's Testing.app() leaves its
 * outdirs behind otherwise. As root, the run is recorded like a lab (see
 * lib/lab/leftovers.ts): the sandbox hosts and namespaces its tests make are
 * made from its folder, and a run killed before its teardown (SIGKILL, a CI
 * job's time limit) is removed by the next run's set-up, said in a line.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { recordRun, removeDeadRuns, removedRunLine } from "../../lib/lab/leftovers";

export default function globalSetup(): void {
  const prefix = `cxt${process.pid}`;
  const root = process.getuid?.() === 0;
  if (root) for (const r of removeDeadRuns()) process.stderr.write(`${removedRunLine(r)}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdktf-xen-test-${prefix}-`));
  process.env.CDKTF_XEN_TEST_TMP = dir;
  process.env.TMPDIR = dir;
  if (!root) return;
  try {
    recordRun(prefix, dir);
    process.env.CDKTF_XEN_TEST_RUN = prefix;
  } catch (e) {
    process.stderr.write(`this test run is not recorded, and if it is killed what its tests made stays: ${(e as Error).message}\n`);
  }
}
