/** The largest request body the API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a request body, stopping as soon as it passes MAX_BODY_BYTES (a lying or
 * missing Content-Length does not help). Returns null when it is too large.
 */
export async function readBodyCapped(req: Request): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return null;
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The tRPC-shaped 413 answer for an over-large body. */
export function tooLargeResponse(path: string): Response {
  return Response.json(
    {
      error: {
        message: `Request body over ${MAX_BODY_BYTES} bytes refused`,
        code: -32600,
        data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413, appCode: "INPUT_INVALID", path },
      },
    },
    { status: 413 },
  );
}
