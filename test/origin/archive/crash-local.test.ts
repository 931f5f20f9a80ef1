import { crashSuite } from "./crash-suite";

crashSuite("local blob directory", async () => ({ env: () => ({}), close: async () => {} }), { cli: true });
