import type { TestLists } from "../testlists/test-list";
import type { EngineRequest, Nettest } from "./schemas";

// The engine descriptor of a link: nettests whose `targets_name` asks for a dynamic list get their
// inputs computed for this probe (its country and network) by the same prioritization as check-in,
// so a campaign link and the stock Websites card test the same URLs in the same order.

export interface ProbeNetwork {
  /** Upper-case country, "ZZ" when unknown. */
  cc: string;
  /** 0 when unknown. */
  asn: number;
}

/** As check-in: a manual run gets everything, a charging phone 100 URLs, a background run 20. */
export function urlLimit(req: Pick<EngineRequest, "run_type" | "is_charging">): number {
  if (req.run_type === "manual") return 9999;
  return req.is_charging ? 100 : 20;
}

export async function expandNettests(
  nettests: Nettest[],
  req: EngineRequest,
  net: ProbeNetwork,
  testLists: Pick<TestLists, "generate">,
): Promise<Nettest[]> {
  let websites: Promise<{ inputs: string[]; extra: Record<string, unknown>[] }> | null = null;
  const prioritizedWebsites = () =>
    (websites ??= testLists
      .generate({
        cc: net.cc,
        asn: net.asn,
        categoryCodes: [...new Set(req.website_category_codes.map((c) => c.toUpperCase()))],
        limit: urlLimit(req),
      })
      .then(({ items }) => ({
        inputs: items.map((i) => i.url),
        extra: items.map((i) => ({ category_code: i.category_code })),
      })));

  const out: Nettest[] = [];
  for (const n of nettests) {
    if (n.targets_name === "websites_list_prioritized") {
      const w = await prioritizedWebsites();
      // targets_name stays: the probe may tell a dynamic list from a fixed one (spec §4.4 note).
      out.push({ ...n, inputs: w.inputs, inputs_extra: w.extra });
    } else {
      out.push(n);
    }
  }
  return out;
}
