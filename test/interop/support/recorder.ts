import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { gunzipSync } from "node:zlib";

// A recording hop between the real probe and the bridge, on loopback: the probe's bridge hostnames
// point at 127.0.0.1 and its --probe-services URL at this port, and every request goes on to the
// edge unchanged (same method, path, Host and body). It keeps what the probe submitted and what it
// was answered, so a test can hold the stored measurement against the exact bytes the probe sent.

export interface Submission {
  path: string;
  /** The request body as the probe sent it (gunzipped if it was gzip-encoded). */
  body: Buffer;
  status: number;
  answer: string;
}

export interface Recorder {
  port: number;
  submissions: Submission[];
  requests: string[];
  close(): Promise<void>;
}

const SUBMIT = /^\/(report\/[^/]+|api\/v1\/submit_measurement(\/[^/]*)?)$/;

export async function startRecorder(edgePort: number): Promise<Recorder> {
  const submissions: Submission[] = [];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? "/").split("?")[0]!;
      requests.push(`${req.method} ${path} ${req.headers.host ?? ""}`);
      const headers: IncomingHttpHeaders = { ...req.headers };
      const up = request({ host: "127.0.0.1", port: edgePort, method: req.method, path: req.url, headers }, (upRes) => {
        const out: Buffer[] = [];
        upRes.on("data", (c: Buffer) => out.push(c));
        upRes.on("end", () => {
          const answer = Buffer.concat(out);
          if (req.method === "POST" && SUBMIT.test(path)) {
            const plain = req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
            const text = upRes.headers["content-encoding"] === "gzip" ? gunzipSync(answer).toString() : answer.toString();
            submissions.push({ path, body: plain, status: upRes.statusCode ?? 0, answer: text });
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(answer);
        });
      });
      up.on("error", (err) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `recorder: ${err.message}` }));
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    submissions,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The measurement inside a submission body, byte for byte. The probe sends
 * `{"format":"json","content":"<the measurement as a JSON string>"}` (the string's text is the
 * measurement); older clients send the object itself, whose bytes are then those in the body.
 */
export function submittedContent(body: Buffer): Buffer {
  const text = body.toString("utf8");
  const parsed = JSON.parse(text) as { content?: unknown };
  if (typeof parsed.content === "string") return Buffer.from(parsed.content, "utf8");
  if (typeof parsed.content !== "object" || parsed.content === null) throw new Error("submission without a JSON content");
  const at = text.indexOf('"content":');
  if (at < 0) throw new Error("no content key");
  // The content is an object that runs to the end of the body, or to a key after it.
  const start = at + '"content":'.length;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return Buffer.from(text.slice(start, i + 1), "utf8");
  }
  throw new Error("unterminated content object");
}
