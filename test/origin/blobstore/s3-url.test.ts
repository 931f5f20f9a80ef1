import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { encodeKeyPath, encodeSegment, parseEndpoint, s3Url } from "../../../origin/src/blobstore/s3-url";

describe("S3 URL building", () => {
  it("encodes each key segment per RFC 3986 and keeps slashes", () => {
    expect(encodeSegment("a b+c!'()*~-_.")).toBe("a%20b%2Bc%21%27%28%29%2A~-_.");
    expect(encodeKeyPath("raw/2024 01/ü?#&=%")).toBe("raw/2024%2001/%C3%BC%3F%23%26%3D%25");
  });

  it("builds path-style URLs, honouring an endpoint base path", () => {
    const loc = { endpoint: parseEndpoint("http://127.0.0.1:9000/base/"), bucket: "b", forcePathStyle: true };
    expect(s3Url(loc, "p/k%20x").href).toBe("http://127.0.0.1:9000/base/b/p/k%20x");
    expect(s3Url(loc).href).toBe("http://127.0.0.1:9000/base/b");
  });

  it("builds virtual-host-style URLs", () => {
    const loc = { endpoint: parseEndpoint("https://s3.eu-central-1.amazonaws.com"), bucket: "ooni-data", forcePathStyle: false };
    expect(s3Url(loc, "raw/k").href).toBe("https://ooni-data.s3.eu-central-1.amazonaws.com/raw/k");
    expect(s3Url(loc).href).toBe("https://ooni-data.s3.eu-central-1.amazonaws.com/");
  });

  it("sends exactly the path that SigV4 signs", () => {
    // S3 verifies the signature against the path as received; if our encoding differed from
    // aws4fetch's canonical form, every request with such a key would fail SignatureDoesNotMatch.
    const loc = { endpoint: parseEndpoint("https://s3.example.com"), bucket: "b", forcePathStyle: true };
    for (const key of ["plain/key", "sp ace/plus+", "pct%41/amp&/q?/hash#", "bang!/quote'/(paren)*", "ü/日本/😀", "tilde~/at@/colon:/semi;/eq="]) {
      const url = s3Url(loc, encodeKeyPath(key));
      const signer = new AwsV4Signer({ url: url.href, method: "GET", accessKeyId: "a", secretAccessKey: "s", service: "s3", region: "us-east-1" });
      expect(signer.encodedPath, key).toBe(url.pathname);
      expect(decodeURIComponent(url.pathname)).toBe(`/b/${key}`);
    }
  });

  it("rejects endpoints that are not plain http(s) base URLs", () => {
    expect(() => parseEndpoint("not a url")).toThrow(TypeError);
    expect(() => parseEndpoint("file:///tmp")).toThrow(TypeError);
    expect(() => parseEndpoint("https://k:s@s3.example.com")).toThrow(TypeError);
    expect(() => parseEndpoint("https://s3.example.com/?x=1")).toThrow(TypeError);
  });
});
