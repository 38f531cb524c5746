/**
 * Checks a gateway answer against the file it should serve: a 200 must be the
 * whole file, a 206 the bytes its Content-Range names, and a
 * multipart/byteranges body every part's named bytes. Returns what is wrong,
 * or undefined when the answer is right.
 */
export interface RangeAnswer {
  status: number;
  contentType: string | undefined;
  contentRange: string | undefined;
  body: Buffer;
}

export interface Part {
  start: number;
  end: number;
  data: Buffer;
}

function parseContentRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value ?? '');
  if (!m || Number(m[3]) !== size) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return start <= end && end < size ? { start, end } : undefined;
}

/** Splits a multipart/byteranges body into its parts; throws when the framing is wrong. */
export function parseByteranges(contentType: string, body: Buffer, size: number): Part[] {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const parts: Part[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('no first boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return parts;
    const headersEnd = body.indexOf('\r\n\r\n', at);
    if (headersEnd < 0) throw new Error('part without header end');
    const headers = body.subarray(at, headersEnd).toString('latin1');
    const range = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(headers)?.[1], size);
    if (!range) throw new Error(`part with bad Content-Range: ${headers}`);
    const dataStart = headersEnd + 4;
    const data = body.subarray(dataStart, dataStart + range.end - range.start + 1);
    parts.push({ ...range, data });
    at = dataStart + data.length;
    if (!body.subarray(at, at + 2 + delimiter.length).equals(Buffer.concat([Buffer.from('\r\n'), delimiter]))) throw new Error(`part ${parts.length} not followed by a boundary`);
    at += 2;
  }
}

export function wrongBytes(answer: RangeAnswer, file: Buffer): string | undefined {
  if (answer.status === 200) return answer.body.equals(file) ? undefined : `200 with ${answer.body.length} bytes that are not the file`;
  if (answer.status !== 206) return undefined;
  if (answer.contentType?.startsWith('multipart/byteranges')) {
    let parts: Part[];
    try {
      parts = parseByteranges(answer.contentType, answer.body, file.length);
    } catch (err) {
      return `multipart framing: ${(err as Error).message}`;
    }
    if (parts.length < 2) return `multipart with ${parts.length} parts`;
    const bad = parts.find((p) => !p.data.equals(file.subarray(p.start, p.end + 1)));
    return bad ? `part ${bad.start}-${bad.end} has wrong bytes` : undefined;
  }
  const range = parseContentRange(answer.contentRange, file.length);
  if (!range) return `206 with Content-Range ${answer.contentRange}`;
  return answer.body.equals(file.subarray(range.start, range.end + 1)) ? undefined : `206 ${answer.contentRange} with wrong bytes`;
}
