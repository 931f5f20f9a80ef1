// Prints the Worker's BRIDGE_CONFIG binding for a configuration file, for deployment until the
// operator CLI lands:  wrangler deploy --var "BRIDGE_CONFIG:$(node --import tsx bridge-config/render.ts)"
// Exit code 78 and one line per problem when the file is invalid.
import { BridgeConfigError, bridgeConfigPath, loadBridgeConfig, renderWorkerConfig } from "./load";

try {
  process.stdout.write(`${renderWorkerConfig(loadBridgeConfig(process.argv[2] ?? bridgeConfigPath()))}\n`);
} catch (err) {
  if (!(err instanceof BridgeConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78);
}
