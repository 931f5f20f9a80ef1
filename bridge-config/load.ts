// Node side: find and read the bridge configuration file. `npm start` uses bridge-config/bridge.toml
// unless BRIDGE_CONFIG names another file.
import { readFileSync } from "node:fs";
import path from "node:path";
import { checkBridgeFile } from "./check";
import { BridgeConfigError, parseBridgeFile, type BridgeFile } from "./parse";
import type { BridgeConfig } from "./schema";

export { BridgeConfigError, renderWorkerConfig, validateBridgeConfig } from "./parse";
export type { BridgeConfig } from "./schema";

export const defaultBridgeConfigPath = path.join(import.meta.dirname, "bridge.toml");

export function bridgeConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.BRIDGE_CONFIG || defaultBridgeConfigPath);
}

export function readBridgeText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new BridgeConfigError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}

/** Schema and hostname checks (check.ts) of a file's text, every environment. */
export function validateBridgeText(text: string, source: string): BridgeFile {
  const file = parseBridgeFile(text, source);
  const problems = checkBridgeFile(file);
  if (problems.length) throw new BridgeConfigError(source, problems);
  return file;
}

export function loadBridgeFile(file = bridgeConfigPath()): BridgeFile {
  return validateBridgeText(readBridgeText(file), file);
}

/** The default (top-level) environment's Worker configuration. */
export function loadBridgeConfig(file = bridgeConfigPath()): BridgeConfig {
  return loadBridgeFile(file).environments[0]!.config;
}
