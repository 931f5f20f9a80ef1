import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { LocalBlobStore } from "../../../origin/src/blobstore";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { reprocess } from "../../../origin/src/fastpath/pipeline/reprocess";
import { FastpathStore } from "../../../origin/src/fastpath/pipeline/store";
import { ObservationWriter } from "../../../origin/src/observations/writer";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { useTempDb } from "../../support/temp-db";

// `fastpath reprocess` over archived measurements of the other tests writes their observations as
// the live pipeline does (the same scoring item, the same writer): telegram's into obs_web,
// http_invalid_request_line's into obs_http_middlebox.

const suite = corpusAvailable ? describe : describe.skip;
let db: Database;
const tmpDir = useTempDb("reprocess-nettests", (d) => (db = d));

suite("fastpath reprocess of the other tests", () => {
  it("writes obs_web rows for telegram and an obs_http_middlebox row for http_invalid_request_line", async () => {
    // Dated now (the fastpath's date rules compare the uid's time with measurement_start_time).
    const now = new Date();
    const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
    const start = now.toISOString().slice(0, 19).replace("T", " ");
    const load = (f: string) => JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")) as Record<string, unknown>;
    const telegram = { ...load("telegram_nourl.json"), input: null, measurement_start_time: start, measurement_uid: `${stamp}.000000_IT_telegram_00000000000000a1` };
    const hirl = { ...load("mbx-1.json"), measurement_start_time: start, measurement_uid: `${stamp}.000000_PT_httpinvalidrequestline_00000000000000a2` };
    const blobs = new LocalBlobStore(path.join(tmpDir, "blobs"));
    const day = stamp.slice(0, 8);
    await blobs.put(`raw/${day}/00/IT/telegram/x.n1.0.jsonl.gz`, gzipSync(`${JSON.stringify(telegram)}\n${JSON.stringify(hirl)}\n`));

    const store = new FastpathStore(db, null, new ObservationWriter(db, null));
    const summary = await reprocess({ blobs, store }, { prefixes: [`raw/${day}/`], batchRows: 10, workers: 1, semantics: "fastpath" });
    expect(summary).toMatchObject({ aborted: false, rows: 2 });

    const web = await queryRows<{ target_id: string | null; n: string }>(
      db,
      "SELECT target_id, count() AS n FROM obs_web FINAL WHERE measurement_uid = {u:String} GROUP BY target_id ORDER BY target_id",
      { u: telegram.measurement_uid },
    );
    // The 12 datacentre connects, and 12 MK-era HTTP requests without a URL (no target, as upstream).
    expect(web.map((r) => [r.target_id, Number(r.n)])).toEqual([["telegram/dc_pool", 12], [null, 12]]);
    const mb = await queryRows<Record<string, unknown>>(db, "SELECT * FROM obs_http_middlebox FINAL WHERE measurement_uid = {u:String}", { u: hirl.measurement_uid });
    expect(mb).toHaveLength(1);
    expect(mb[0]).toMatchObject({ test_name: "http_invalid_request_line", hirl_success: 1, hirl_sent_3: "GET / HTTP/D9S" });
  });
});
