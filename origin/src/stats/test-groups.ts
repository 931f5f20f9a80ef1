// Test names by Explorer's test groups, and the display names Explorer shows (legacy
// api/_/test_names). The groups replace the legacy `test_groups` table, which only held this map.

export const TEST_GROUPS: Record<string, readonly string[]> = {
  circumvention: [
    "bridge_reachability",
    "meek_fronted_requests_test",
    "vanilla_tor",
    "tcp_connect",
    "psiphon",
    "tor",
    "torsf",
    "riseupvpn",
  ],
  experimental: ["urlgetter", "dnscheck", "stunreachability"],
  im: ["facebook_messenger", "signal", "telegram", "whatsapp"],
  legacy: ["http_requests", "dns_consistency", "http_host", "multi_protocol_traceroute"],
  middlebox: ["http_invalid_request_line", "http_header_field_manipulation"],
  performance: ["ndt", "dash"],
  websites: ["web_connectivity"],
};

export const TEST_GROUP_NAMES = Object.keys(TEST_GROUPS).sort();

export const IM_TESTS = [...TEST_GROUPS.im!].sort();

/** The circumvention tools the circumvention statistics cover (legacy list). */
export const CIRCUMVENTION_TOOLS = ["psiphon", "riseupvpn", "stunreachability", "tor", "torsf"];

export function groupOfTest(testName: string): string | undefined {
  return TEST_GROUP_NAMES.find((g) => TEST_GROUPS[g]!.includes(testName));
}

export const TEST_NAMES: Record<string, string> = {
  bridge_reachability: "Bridge Reachability",
  dash: "DASH",
  dns_consistency: "DNS Consistency",
  dnscheck: "DNS Check",
  facebook_messenger: "Facebook Messenger",
  http_header_field_manipulation: "HTTP Header Field Manipulation",
  http_host: "HTTP Host",
  http_invalid_request_line: "HTTP Invalid Request Line",
  http_requests: "HTTP Requests",
  meek_fronted_requests_test: "Meek Fronted Requests",
  multi_protocol_traceroute: "Multi Protocol Traceroute",
  ndt: "NDT",
  psiphon: "Psiphon",
  riseupvpn: "RiseupVPN",
  signal: "Signal",
  stunreachability: "STUN Reachability",
  tcp_connect: "TCP Connect",
  telegram: "Telegram",
  tor: "Tor",
  torsf: "Tor Snowflake",
  urlgetter: "URL Getter",
  vanilla_tor: "Vanilla Tor",
  web_connectivity: "Web Connectivity",
  whatsapp: "WhatsApp",
};
