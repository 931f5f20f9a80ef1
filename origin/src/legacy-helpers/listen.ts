import type { AddressInfo, Server, Socket } from "node:net";

export interface LegacyServer {
  /** "tcp://host:port" for tcp-echo, "http://host:port" for the JSON-headers helper. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const sockets = new WeakMap<Server, Set<Socket>>();

/** Remembers open connections so close() can drop them instead of waiting for clients. */
export function trackSockets(server: Server): void {
  const open = new Set<Socket>();
  sockets.set(server, open);
  server.on("connection", (s: Socket) => {
    open.add(s);
    s.once("close", () => open.delete(s));
  });
}

export async function listen(server: Server, host: string, port: number, scheme: "tcp" | "http"): Promise<LegacyServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://${urlHost}:${actual}`,
    port: actual,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets.get(server) ?? []) s.destroy();
      });
      return closing;
    },
  };
}
