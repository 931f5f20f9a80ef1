import { archiveEndToEnd } from "./e2e-suite";

// The archive end to end on the default blob store: a local directory under DATA_DIR.
archiveEndToEnd("local blob directory", async () => ({ env: {}, close: async () => {} }));
