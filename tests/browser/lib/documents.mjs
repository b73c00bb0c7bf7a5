// Small but real documents: the server judges a file by its first bytes (PDF, PNG or JPEG), so
// each of these starts with the right magic and carries a tag that makes every file unique.
import { deflateSync } from 'node:zlib';

/** A one-page PDF; pad adds that many filler bytes (for size limits). */
export function pdfBytes(tag = '', pad = 0) {
  return Buffer.concat([
    Buffer.from('%PDF-1.4\n' +
      '1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n' +
      '2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n' +
      '3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 72 72]>> endobj\n' +
      `% ${tag}\n%`),
    Buffer.alloc(pad, 'x'),
    Buffer.from('\ntrailer <</Root 1 0 R>>\n%%EOF\n'),
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(kind, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 1×1 red PNG with the tag in a tEXt chunk. */
export function pngBytes(tag = '') {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('tEXt', Buffer.from(`Comment\0${tag}`, 'latin1')),
    pngChunk('IDAT', deflateSync(Buffer.from([0x00, 0xcc, 0x33, 0x33]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// A 16×16 baseline JFIF image (the same one tests/e2e/harness.py uses).
const JPEG_16PX = Buffer.from(
  '/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q' +
  'EBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ' +
  'EBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQID' +
  'BAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/' +
  '2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx' +
  '4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+' +
  'Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolv' +
  'w4KOp1KM6iCNvngZHwetf//Z',
  'base64');

/** A JPEG with the tag (and pad filler bytes) in comment segments after the JFIF APP0 segment. */
export function jpegBytes(tag = '', pad = 0) {
  const payload = Buffer.concat([Buffer.from(tag || 'teamreg'), Buffer.alloc(pad, 'x')]);
  const segments = [];
  for (let i = 0; i < payload.length; i += 65000) {
    const chunk = payload.subarray(i, i + 65000);
    const marker = Buffer.from([0xff, 0xfe, 0, 0]);
    marker.writeUInt16BE(chunk.length + 2, 2);
    segments.push(marker, chunk);
  }
  const app0End = 4 + JPEG_16PX.readUInt16BE(4);
  return Buffer.concat([JPEG_16PX.subarray(0, app0End), ...segments, JPEG_16PX.subarray(app0End)]);
}

/** A file for Playwright's setInputFiles: {name, mimeType, buffer}. */
export function upload(name, buffer, mimeType) {
  const types = { pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg' };
  return { name, mimeType: mimeType || types[name.split('.').pop()] || 'application/octet-stream', buffer };
}
