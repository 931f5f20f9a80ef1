import { getOr, isDict, own, pyIter } from "./py";
import type { Dict } from "./py";

/**
 * Counts test_keys.tcp_connect[] entries by status.success (true → accessible, false →
 * unreachable, anything else ignored). null where upstream would crash on the shape.
 */
export function countTcpEndpoints(tk: Dict): { accessible: number; unreachable: number } | null {
  const entries = pyIter(getOr(tk, "tcp_connect", []));
  if (!entries) return null;
  let accessible = 0;
  let unreachable = 0;
  for (const entry of entries) {
    if (!isDict(entry)) return null;
    const status = getOr(entry, "status", {});
    if (!isDict(status)) return null;
    const success = own(status, "success");
    if (success === true) accessible++;
    else if (success === false) unreachable++;
  }
  return { accessible, unreachable };
}
