import * as fs from "fs";
import { forgetRun } from "../../lib/lab/leftovers";

export default function globalTeardown(): void {
  const dir = process.env.CDKTF_XEN_TEST_TMP;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (process.env.CDKTF_XEN_TEST_RUN) forgetRun(process.env.CDKTF_XEN_TEST_RUN);
}
