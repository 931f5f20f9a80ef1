// One fixed seed for the whole fuzz suite, printed and overridable (FUZZ_SEED=…) so any failure
// reproduces. Each operation or parser derives its own seed from it and its name, so adding an
// operation does not change what the others draw.

const DEFAULT_SEED = 20261129;

export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env === "") return DEFAULT_SEED;
  const n = Number(env);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(env)}`);
  return n;
}

export function seedFor(base: number, name: string): number {
  let h = base | 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h | 0;
}
