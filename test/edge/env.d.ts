// What the Worker under test exposes to the tests inside workerd.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
  interface Env {
    /** Same value as the configuration's origin.url (kept for tests that talk to the origin directly). */
    ORIGIN_URL: string;
    EDGE_SHARED_SECRET?: string;
    BRIDGE_CONFIG: string;
    BRIDGE_STATE: DurableObjectNamespace<import("../../edge/src/state/durable-object").BridgeState>;
  }
}

declare module "*.toml?raw" {
  const text: string;
  export default text;
}
