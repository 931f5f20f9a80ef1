import type { MailMessage } from "../mail";

// The login email: a link to the site the person came from, carrying the one-day login token.

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function loginEmail(to: string, loginUrl: string): MailMessage {
  return {
    to,
    subject: "OONI Account activation",
    text:
      "Welcome to OONI.\n\n" +
      `Please login by following ${loginUrl}\n\n` +
      "The link can be used on multiple devices and will expire in 24 hours.\n",
    html:
      "<html><head></head><body><p>Welcome to OONI</p>" +
      `<p><a href="${escapeHtml(loginUrl)}">Please login here</a></p>` +
      "<p>The link can be used on multiple devices and will expire in 24 hours.</p></body></html>\n",
  };
}

export function loginUrl(origin: string, token: string): string {
  const u = new URL("/login", origin);
  u.searchParams.set("token", token);
  return u.toString();
}
