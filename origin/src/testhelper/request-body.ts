/** The request body as text, or "too_large" as soon as more than `max` bytes arrived (never buffers more). */
export async function readBodyBounded(req: Request, max: number): Promise<string | "too_large"> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) return "too_large";
  if (req.body === null) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      // Stop pulling; the Node adapter drains or drops the rest after we answer.
      await reader.cancel().catch(() => {});
      return "too_large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, length).toString("utf8");
}
