// English country names from the ICU data built into Node, so no country table has to be kept.
// Codes that are not countries (ZZ unknown, EU, UN, …) have no entry, and are left out of
// /api/_/countries as the legacy API left out codes missing from its country list.

const names = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
const NOT_COUNTRIES = new Set(["ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"]);

export function countryName(alpha2: string): string | null {
  if (!/^[A-Z]{2}$/.test(alpha2) || NOT_COUNTRIES.has(alpha2)) return null;
  return names.of(alpha2) ?? null;
}
