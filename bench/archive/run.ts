// Archive benchmark (docs/archive.md): what direct access costs per body, and how fast the uploader
// compresses next to the system gzip.
//
//   node --import tsx bench/archive/run.ts
//   BENCH_MB=24 BENCH_FETCHES=200 node --import tsx bench/archive/run.ts
//
// 1. Fills a temp spool with ~BENCH_MB of measurements (the real ones in ../shared/corpus when
//    present, compacted as the probe engine sends them; synthetic ones otherwise).
// 2. Compression: builds the postcans + JSONL of the whole spool (buildArchive) and compresses
//    the same .post bytes with `gzip -6`, alternating, best of 3 each. Goal: uploader ≥ 0.5× gzip.
//    The uploader compresses on libuv's thread pool (tar.gz and JSONL side by side); gzip uses one core.
// 3. Runs the uploader, then fetches BENCH_FETCHES bodies from the archive on the local blob
//    directory and on s3rver (loopback): bytes read from the blob store per fetch vs the body size
//    (goal ≤ 2×), next to what the legacy whole-file download would read, and fetch latency.
// Loopback only; bounded by BENCH_MB and BENCH_FETCHES.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildArchive } from "../../origin/src/archive/build";
import { runUploader } from "../../origin/src/archive/uploader";
import { loadConfig } from "../../origin/src/config";
import { queryRows } from "../../origin/src/db/clickhouse";
import { envelopeAroundMeasurementText } from "../../origin/src/intake/post-file";
import { makeMeasurementUid } from "../../origin/src/intake/measurement-uid";
import { createLogger } from "../../origin/src/logger";
import { findMeasurementBody } from "../../origin/src/measurements/body";
import { closeServices, openServices, type Services } from "../../origin/src/services";
import { createBlobStore } from "../../origin/src/blobstore";
import { startS3rver } from "../../test/origin/archive/s3rver";
import { measurementText } from "../../test/origin/archive/support";

const TARGET_MB = Number(process.env.BENCH_MB ?? 24);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 200);
const CORPUS = path.resolve(process.env.OONI_CORPUS_DIR ?? path.join(import.meta.dirname, "../../../shared/corpus"), "measurements");

function bodies(): { texts: string[]; source: string } {
  if (existsSync(CORPUS)) {
    const texts = readdirSync(CORPUS)
      .filter((f) => f.endsWith(".json") && f !== "expectations.json")
      .map((f) => JSON.stringify(JSON.parse(readFileSync(path.join(CORPUS, f), "utf8"))));
    return { texts, source: `${texts.length} real measurements from ${CORPUS}` };
  }
  return { texts: Array.from({ length: 40 }, (_, i) => measurementText(i).text), source: "synthetic measurements (corpus absent)" };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mb = (bytes: number) => bytes / (1024 * 1024);

async function fill(services: Services): Promise<{ uids: string[]; sizes: Map<string, number>; posts: Buffer[]; source: string }> {
  const { texts, source } = bodies();
  const uids: string[] = [];
  const sizes = new Map<string, number>();
  const posts: Buffer[] = [];
  let total = 0;
  for (let i = 0; total < TARGET_MB * 1024 * 1024; i++) {
    const text = texts[i % texts.length]!;
    const m = JSON.parse(text) as { probe_cc?: unknown; test_name?: unknown };
    const cc = typeof m.probe_cc === "string" && /^[A-Z]{2}$/.test(m.probe_cc) ? m.probe_cc : "ZZ";
    const test = typeof m.test_name === "string" ? m.test_name : "unknown";
    const post = envelopeAroundMeasurementText(text, `20240101T000000Z_${test.replace(/_/g, "")}_${cc}_1_n1_bench${String(i).padStart(11, "0")}`);
    // One hour directory for all: a single journal, so the build below covers the whole volume.
    const uid = makeMeasurementUid("IT", "benchmark", post);
    await services.spool.write(uid, post);
    uids.push(uid);
    sizes.set(uid, Buffer.byteLength(text));
    posts.push(post);
    total += post.length;
  }
  return { uids, sizes, posts, source };
}

function timeGzip(file: string): number {
  const t0 = performance.now();
  const res = spawnSync("gzip", ["-6", "-c", file], { stdio: ["ignore", "ignore", "inherit"] });
  if (res.status !== 0) throw new Error("gzip failed");
  return (performance.now() - t0) / 1000;
}

async function fetchStats(label: string, services: Services, uids: string[], sizes: Map<string, number>, fileSizes: Map<string, number>) {
  const lat: number[] = [];
  const ratios: number[] = [];
  const legacyRatios: number[] = [];
  let bytesRead = 0;
  let bodyBytes = 0;
  // Every k-th uid: a spread over files and sizes, the same in both stores.
  const step = Math.max(1, Math.floor(uids.length / FETCHES));
  const rows = new Map(
    (await queryRows<{ measurement_uid: string; s3path: string }>(services.db, "SELECT measurement_uid, s3path FROM jsonl FINAL")).map((r) => [r.measurement_uid, r.s3path]),
  );
  for (let i = 0; i < uids.length && lat.length < FETCHES; i += step) {
    const uid = uids[i]!;
    const t0 = performance.now();
    const body = await findMeasurementBody(services, uid);
    lat.push(performance.now() - t0);
    if (!body || body.source !== "archive") throw new Error(`${uid}: not served from the archive`);
    if (body.bytes.length !== sizes.get(uid)) throw new Error(`${uid}: body size differs from what was submitted`);
    bytesRead += body.blobBytesRead;
    bodyBytes += body.bytes.length;
    ratios.push(body.blobBytesRead / body.bytes.length);
    legacyRatios.push(fileSizes.get(rows.get(uid)!)! / body.bytes.length);
  }
  lat.sort((a, b) => a - b);
  ratios.sort((a, b) => a - b);
  legacyRatios.sort((a, b) => a - b);
  console.log(`\nbody fetches from the archive — ${label} (${lat.length} fetches, spool empty)`);
  console.log(`  bytes read from the blob store / body size: mean ${(bytesRead / bodyBytes).toFixed(3)}, p50 ${pct(ratios, 50).toFixed(3)}, max ${ratios.at(-1)!.toFixed(3)}   (goal ≤ 2)`);
  console.log(`  the legacy whole-file download would read:  mean ${(legacyRatios.reduce((a, b) => a + b, 0) / legacyRatios.length).toFixed(1)}×, p50 ${pct(legacyRatios, 50).toFixed(1)}×, max ${legacyRatios.at(-1)!.toFixed(1)}× the body`);
  console.log(`  latency (jsonl lookup + ranged GET + gunzip): p50 ${pct(lat, 50).toFixed(2)} ms, p95 ${pct(lat, 95).toFixed(2)} ms, max ${lat.at(-1)!.toFixed(2)} ms`);
  return { meanRatio: bytesRead / bodyBytes, maxRatio: ratios.at(-1)! };
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "bench-archive-"));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", FASTPATH_ENABLED: "false" });
  const services = await openServices(config, createLogger("silent"), { background: false });
  const s3 = await startS3rver();
  try {
    const { uids, sizes, posts, source } = await fill(services);
    const inputBytes = posts.reduce((n, p) => n + p.length, 0);
    console.log(`archive benchmark: ${uids.length} measurements, ${mb(inputBytes).toFixed(1)} MB of .post files (${source})`);

    // Compression: the uploader's build step over the whole hour directory vs gzip -6 on the same bytes.
    const hourDir = (await services.spool.listHourDirs())[0]!;
    const journal = { v: 1 as const, hourDir, collectorId: "1", firstN: 0, canMaxBytes: config.uploader.canMaxBytes, uids: [...uids].sort(), committed: false };
    const work = path.join(dataDir, "bench-work");
    const concatenated = path.join(dataDir, "all.post");
    writeFileSync(concatenated, Buffer.concat(posts));
    // Rounds alternate, so load from other processes on the machine hits both alike; best of 3.
    let buildS = Infinity;
    let gzipS = Infinity;
    let built!: Awaited<ReturnType<typeof buildArchive>>;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      built = await buildArchive(services.spool, journal, work, services.log);
      buildS = Math.min(buildS, (performance.now() - t0) / 1000);
      gzipS = Math.min(gzipS, timeGzip(concatenated));
    }
    const can = built.files.filter((f) => f.kind === "tar.gz").reduce((n, f) => n + f.size, 0);
    const jsonl = built.files.filter((f) => f.kind === "jsonl.gz").reduce((n, f) => n + f.size, 0);
    const uploaderRate = mb(inputBytes) / buildS;
    const gzipRate = mb(inputBytes) / gzipS;
    console.log("\ncompression (same .post bytes)");
    console.log(`  uploader build (postcans + JSONL members, gzip level 6): ${uploaderRate.toFixed(1)} MB/s of input  [${built.files.length} files: postcans ${mb(can).toFixed(2)} MB, JSONL ${mb(jsonl).toFixed(2)} MB]`);
    console.log(`  system gzip -6 (one stream):                             ${gzipRate.toFixed(1)} MB/s of input  [${mb(spawnSync("gzip", ["-6", "-c", concatenated], { maxBuffer: 1 << 30 }).stdout.length).toFixed(2)} MB]`);
    console.log(`  ratio uploader / gzip: ${(uploaderRate / gzipRate).toFixed(2)}   (goal ≥ 0.5; the uploader compresses every byte twice, once per format, on ${os.availableParallelism()} cores)`);

    const t0 = performance.now();
    const report = await runUploader(services, { all: true });
    if (report.failed.length) throw new Error(`uploader failed: ${JSON.stringify(report.failed)}`);
    console.log(`\nfull uploader run (build, store, index, score in this thread, delete): ${((performance.now() - t0) / 1000).toFixed(2)} s`);

    const fileSizes = new Map<string, number>();
    for await (const info of services.blobs.list("raw/")) fileSizes.set(info.key, info.size);
    const local = await fetchStats("local blob directory", services, uids, sizes, fileSizes);

    // The same archive on S3 (s3rver on loopback): copy the objects, point the services at it.
    const s3cfg = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent", ...s3.env("bench") });
    const s3store = createBlobStore(s3cfg.blobStore);
    for (const key of fileSizes.keys()) await s3store.put(key, (await services.blobs.get(key))!);
    const remote = await fetchStats("s3rver", { ...services, blobs: s3store }, uids, sizes, fileSizes);

    console.log(`\nsummary: bytes/body ${local.meanRatio.toFixed(2)}× (max ${Math.max(local.maxRatio, remote.maxRatio).toFixed(2)}×, goal ≤ 2), compression ${(uploaderRate / gzipRate).toFixed(2)}× gzip -6 (goal ≥ 0.5)`);
  } finally {
    await s3.close();
    await closeServices(services);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
