/** A worker for test/sync-worker.test.ts: answers { echo } with it, throws on { fail }, spins forever on { hang }. */
import { serveSync, syncWorkerData } from "../../lib/private/sync-worker";

const prefix = syncWorkerData<string>();
serveSync((body: { echo?: string; fail?: string; hang?: true }, cancelled) => {
  if (body.fail !== undefined) throw new Error(body.fail);
  if (body.hang) for (;;);
  return `${prefix}${body.echo}${cancelled() ? " (cancelled)" : ""}`;
});
