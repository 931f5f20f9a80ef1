// TOML text → validated configuration. Pure (smol-toml and zod only): the Node loader uses it, and
// the edge tests run it inside workerd. The Worker itself never parses TOML (schema.ts only).
import { parse as parseToml, TomlError } from "smol-toml";
import { BridgeConfigError, validateBridgeConfig, type BridgeConfig } from "./schema";

export { BridgeConfigError, validateBridgeConfig };

export function parseBridgeConfigToml(text: string, source = "(text)"): BridgeConfig {
  let table: unknown;
  try {
    table = parseToml(text);
  } catch (err) {
    const line = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    throw new BridgeConfigError(source, [`not valid TOML${line}: ${(err as Error).message.split("\n")[0]}`]);
  }
  return validateBridgeConfig(table, source);
}

/** What the Worker gets in its BRIDGE_CONFIG binding: the validated config with every default filled in. */
export function renderWorkerConfig(config: BridgeConfig): string {
  return JSON.stringify(config);
}
