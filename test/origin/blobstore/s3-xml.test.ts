import { describe, expect, it } from "vitest";
import { decodeXmlEntities, parseListObjectsV2, parseS3Error } from "../../../origin/src/blobstore/s3-xml";

describe("decodeXmlEntities", () => {
  it("decodes predefined and numeric entities in one pass", () => {
    expect(decodeXmlEntities("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;")).toBe(`a & b <c> "d" 'e'`);
    expect(decodeXmlEntities("&#39;&#x27;&#x60;&#x1F600;")).toBe("''`😀");
    expect(decodeXmlEntities("&amp;lt;")).toBe("&lt;");
  });

  it("leaves unknown or invalid references alone", () => {
    expect(decodeXmlEntities("&nbsp; &#x110000; & plain")).toBe("&nbsp; &#x110000; & plain");
  });
});

describe("parseListObjectsV2", () => {
  it("parses an AWS-style page", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>pre/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x</NextContinuationToken>
  <Contents>
    <Key>pre/a &amp; b&lt;&#x27;c&#x27;&gt;.txt</Key>
    <LastModified>2024-01-02T03:04:05.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>
    <Size>434234</Size>
    <Owner><ID>abc</ID><DisplayName>Key</DisplayName></Owner>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Key><![CDATA[pre/cdata & <raw>]]></Key><Size>0</Size></Contents>
</ListBucketResult>`;
    const page = parseListObjectsV2(xml);
    expect(page.isTruncated).toBe(true);
    expect(page.nextContinuationToken).toBe("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
    expect(page.objects).toEqual([
      {
        key: "pre/a & b<'c'>.txt",
        size: 434234,
        etag: '"9b2cf535f27731c974343645a3985328"',
        lastModified: new Date("2024-01-02T03:04:05.000Z"),
      },
      { key: "pre/cdata & <raw>", size: 0 },
    ]);
  });

  it("parses an empty final page", () => {
    const page = parseListObjectsV2(
      `<ListBucketResult><Name>b</Name><Prefix>x/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`,
    );
    expect(page).toEqual({ objects: [], isTruncated: false });
  });

  it("rejects a Contents entry without a size", () => {
    expect(() => parseListObjectsV2("<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>")).toThrow();
  });
});

describe("parseS3Error", () => {
  it("extracts Code and Message", () => {
    expect(
      parseS3Error(`<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key &quot;x&quot; does not exist.</Message><Key>x</Key></Error>`),
    ).toEqual({ code: "NoSuchKey", message: 'The key "x" does not exist.' });
    expect(parseS3Error("")).toEqual({});
  });
});
