/** CRC-32 (IEEE 802.3, the zlib/PNG one). Node 20 has no zlib.crc32. */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Pass a previous result as `running` to checksum data given in pieces. */
export function crc32(data: Uint8Array, running = 0): number {
  let crc = ~running >>> 0;
  for (const byte of data) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
