// Prints the Worker's BRIDGE_CONFIG binding (the top level of a configuration file) as one JSON line,
// for scripts that pass it with `--var`. Deployments use `npm run bridge -- render` instead, which
// writes it (and the routes) into wrangler.toml.
// Exit code 78 and one line per problem when the file is invalid.
import { BridgeConfigError, bridgeConfigPath, loadBridgeConfig, renderWorkerConfig } from "./load";

try {
  process.stdout.write(`${renderWorkerConfig(loadBridgeConfig(process.argv[2] ?? bridgeConfigPath()))}\n`);
} catch (err) {
  if (!(err instanceof BridgeConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78);
}
