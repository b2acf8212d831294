/** A TNEF stream (MS-OXTNEF) with these files: title (8.3), long name in the MAPI properties, data. */
export function tnef(files: { short: string; long?: string; data: Buffer }[]): Buffer {
  const attr = (level: number, id: number, type: number, data: Buffer) => {
    const head = Buffer.alloc(9);
    head.writeUInt8(level, 0);
    head.writeUInt32LE(((type << 16) | id) >>> 0, 1);
    head.writeUInt32LE(data.length, 5);
    const sum = Buffer.alloc(2);
    sum.writeUInt16LE(data.reduce((n, b) => (n + b) & 0xffff, 0));
    return Buffer.concat([head, data, sum]);
  };
  const parts = [Buffer.from([0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00])];
  parts.push(attr(1, 0x9006, 0x0006, Buffer.from([0xe4, 0x04, 0, 0]))); // attTnefVersion-ish message attribute
  for (const f of files) {
    parts.push(attr(2, 0x9002, 0x0006, Buffer.alloc(14)));
    parts.push(attr(2, 0x8010, 0x0001, Buffer.from(`${f.short}\0`, 'latin1')));
    parts.push(attr(2, 0x800f, 0x0006, f.data));
    if (f.long) {
      const name = Buffer.from(`${f.long}\0`, 'utf16le');
      const padded = Buffer.concat([name, Buffer.alloc((4 - (name.length % 4)) % 4)]);
      const props = Buffer.alloc(16);
      props.writeUInt32LE(2, 0); // two properties: a long (PR_ATTACH_METHOD) and the long file name
      props.writeUInt16LE(0x0003, 4);
      props.writeUInt16LE(0x3705, 6);
      props.writeUInt32LE(1, 8);
      props.writeUInt16LE(0x001f, 12);
      props.writeUInt16LE(0x3707, 14);
      const lens = Buffer.alloc(8);
      lens.writeUInt32LE(1, 0);
      lens.writeUInt32LE(name.length, 4);
      parts.push(attr(2, 0x9005, 0x0006, Buffer.concat([props, lens, padded])));
    }
  }
  return Buffer.concat(parts);
}
