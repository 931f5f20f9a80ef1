import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startOriginProcess, type OriginProcess } from "./origin-process";

// The edge tests run inside workerd; the Worker forwards to this real origin on loopback.
let origin: OriginProcess | undefined;

export async function setup(project: TestProject) {
  const edgeSecret = randomBytes(24).toString("hex");
  origin = await startOriginProcess({ env: { EDGE_SHARED_SECRET: edgeSecret } });
  project.provide("originUrl", origin.url);
  project.provide("edgeSecret", edgeSecret);
}

export async function teardown() {
  await origin?.stop();
  origin?.cleanup();
}

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    edgeSecret: string;
  }
}
