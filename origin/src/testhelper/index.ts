// The Web Connectivity test helper (oohelperd protocol).
export { createTestHelperApp } from "./app";
export { startTestHelper, type RunningTestHelper, type TestHelperServerOptions } from "./server";
export { resolveOptions, type HelperConfig, type TestHelperOptions } from "./options";
export type { Resolver } from "./resolver";
export { systemResolver } from "./resolver";
export { dohResolver } from "./doh";
export { measure } from "./measure";
export { controlRequestSchema, type ControlRequest, type ControlResponse } from "./schema";
