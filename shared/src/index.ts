export * from "./robots";
export * from "./edge-protocol";
export * from "./errors";
