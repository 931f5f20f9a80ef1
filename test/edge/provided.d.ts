// Values the globalSetup (test/support/origin-global-setup.ts) provides, as the edge tests see them.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    originUrl: string;
    edgeSecret: string;
    edgeControlUrl: string;
    edgeHelpers: { id: string; url: string; weight: number }[];
    bridgeTokens: { status: string; purge: string };
    chromiumPath: string | null;
    bridgeConfig: string;
    renderedBridge: { hostname: string; routes: { pattern: string; zone_name: string }[]; bridgeConfig: string };
  }
}
