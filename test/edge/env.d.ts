// What the Worker under test exposes to the tests inside workerd.
declare namespace Cloudflare {
  interface Exports {
    default: Fetcher;
  }
  interface Env {
    ORIGIN_URL: string;
    EDGE_SHARED_SECRET?: string;
  }
}
