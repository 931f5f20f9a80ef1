import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { jsonError } from "../http/errors";
import { createProbeRouter, noStore, smallJsonBody } from "../probe/router";
import { ErrorBody } from "../probe/schemas";
import { AnonCredHttpError } from "./service";

// The anonymous-credentials routes a probe calls (upstream's paths and bodies): the manifest with
// the current public parameters and the submission policy, registration, and credential update
// after a key rotation. Submission with a credential is POST /api/v1/submit_measurement
// (probe/routes-reports.ts). Errors are {"error": code, "message": text}; 4xx for what the client
// sent (400 undecodable, 403 proof refused, 404 unknown manifest version), 503 when credentials are
// off or the workers cannot answer — never a 500.

const Payload = z.string().min(1).max(64 * 1024);
const Version = z.string().min(1).max(100);

const Policy = z.object({
  policy: z.object({ age: z.tuple([z.number().int(), z.number().int()]), min_measurement_count: z.number().int() }),
  match: z.object({ probe_cc: z.string(), probe_asn: z.string() }),
});

const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });
const off = err("anonymous credentials are off on this server (or its credential workers cannot answer now)");

const manifest = createRoute({
  method: "get",
  path: "/api/v1/manifest",
  tags: ["anonymous credentials"],
  summary: "Anonymous-credentials manifest: current public parameters (meta.version) and the submission policy",
  responses: {
    200: {
      description: "manifest and its metadata",
      content: {
        "application/json": {
          schema: z
            .object({
              manifest: z.object({ nym_scope: z.string(), submission_policy: z.array(Policy), public_parameters: z.string() }),
              meta: z.object({
                version: z.string(),
                last_modification_date: z.string(),
                manifest_url: z.string(),
                library_version: z.string(),
                protocol_version: z.string(),
              }),
            })
            .openapi("AnonCredManifest"),
        },
      },
    },
    404: err("anonymous credentials are off on this server: submit without a credential"),
  },
});

const signCredential = createRoute({
  method: "post",
  path: "/api/v1/sign_credential",
  tags: ["anonymous credentials"],
  summary: "Register: sign a new anonymous credential under the manifest's current keys",
  middleware: [smallJsonBody] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ manifest_version: Version, credential_sign_request: Payload }) } },
    },
  },
  responses: {
    200: {
      description: "the signed credential, for the probe's UserState",
      content: { "application/json": { schema: z.object({ credential_sign_response: z.string(), emission_day: z.number().int() }) } },
    },
    400: err("malformed body, or a request that does not decode (error: deserialization_failed)"),
    403: err("the request does not hold under these keys (error: protocol_error or credential_error)"),
    404: err("unknown or outdated manifest_version (error: manifest_not_found): fetch the manifest again"),
    413: err("body too large"),
    503: off,
  },
});

const updateCredential = createRoute({
  method: "post",
  path: "/api/v1/update_credential",
  tags: ["anonymous credentials"],
  summary: "Update a credential of an older key version (old_manifest_version) to the current keys, keeping its age and count",
  middleware: [smallJsonBody] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ old_manifest_version: Version, manifest_version: Version, update_request: Payload }),
        },
      },
    },
  },
  responses: {
    200: { description: "the server's half of the update", content: { "application/json": { schema: z.object({ update_response: z.string() }) } } },
    400: err("malformed body, or a request that does not decode (error: deserialization_failed)"),
    403: err("the request does not hold (error: protocol_error or credential_error)"),
    404: err("manifest_version is not the current one, or old_manifest_version is unknown (error: manifest_not_found)"),
    413: err("body too large"),
    503: off,
  },
});

function refuse(c: Context<AppEnv>, e: unknown) {
  if (e instanceof AnonCredHttpError) {
    c.get("services").log.info({ req_id: c.get("requestId"), status: e.status, reason: e.error }, "anonymous-credential request refused");
    return jsonError(c, e.status, e.error, { message: e.message });
  }
  throw e;
}

function offAnswer(c: Context<AppEnv>, status: 404 | 503) {
  return jsonError(c, status, "anonymous_credentials_off", {
    message: "anonymous credentials are off on this server; submit measurements without a credential",
  });
}

export function anonCredRoutes() {
  const app = createProbeRouter();

  app.openapi(manifest, (c) => {
    const { anoncred, files } = c.get("services").probe;
    // Off: 404, which the probe engine reads as "no manifest" and submits without a credential.
    if (!anoncred) return offAnswer(c, 404) as never;
    const policy = files.manifest.get().manifest;
    // Short public caching like upstream's 1 minute: a rotation reaches probes within a minute.
    return c.json(anoncred.manifest(policy, c.get("services").config.baseUrl), 200, { "Cache-Control": "public, max-age=60" });
  });

  app.openapi(signCredential, async (c) => {
    const { anoncred } = c.get("services").probe;
    if (!anoncred) return offAnswer(c, 503) as never;
    const body = c.req.valid("json");
    try {
      return c.json(await anoncred.register(body.manifest_version, body.credential_sign_request), 200, noStore);
    } catch (e) {
      return refuse(c, e) as never;
    }
  });

  app.openapi(updateCredential, async (c) => {
    const { anoncred } = c.get("services").probe;
    if (!anoncred) return offAnswer(c, 503) as never;
    const body = c.req.valid("json");
    try {
      return c.json(await anoncred.update(body.old_manifest_version, body.manifest_version, body.update_request), 200, noStore);
    } catch (e) {
      return refuse(c, e) as never;
    }
  });

  return app;
}
