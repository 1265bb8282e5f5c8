import { App } from "cdktf";
import { buildFleet } from "./bench/fleet";
import { XenHost } from "./lib/xen-host";
import { proveDom0, dom0Reachability, obligations } from "./lib/prove";
const app = new App({ outdir: "/tmp/pbout", context: { "cdktf-xen:preview": false } });
buildFleet(app, 10, 40, 4);
const dom0s = app.node.findAll().filter(XenHost.isXenHost);
// warm: render files
let t = Date.now(); for (const d of dom0s) { d.hostFiles(); d.guests.forEach(g => g.hostFiles()); } console.log("render", Date.now() - t);
t = Date.now(); for (const d of dom0s) dom0Reachability(d); console.log("models", Date.now() - t);
t = Date.now(); let n = 0; for (const d of dom0s) n += obligations(d).length; console.log("obligations", n, Date.now() - t);
t = Date.now(); for (const d of dom0s) proveDom0(d); console.log("prove", Date.now() - t);
t = Date.now(); for (const d of dom0s) proveDom0(d); console.log("prove again", Date.now() - t);
// flows only, on prebuilt models
const models = dom0s.map((d) => dom0Reachability(d));
const obl = dom0s.map((d) => obligations(d));
t = Date.now(); let f = 0; models.forEach((m, i) => obl[i].forEach((o) => { m.flow(o.question).ok; f++; })); console.log("flows", f, Date.now() - t);
