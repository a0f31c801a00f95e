/**
 * A stand-in for /sys/kernel/notes (what a running kernel shows; nothing here boots one): the
 * kernel's GNU build-id note, then Linux and Xen notes, in the order and kinds seen in a real
 * x86_64 /sys/kernel/notes; 4-aligned, little-endian.
 */
export function kernelNotes(buildIdHex: string, release: string): Buffer {
  const note = (name: string, type: number, desc: Buffer) => {
    const nameBuf = Buffer.alloc(Math.ceil((name.length + 1) / 4) * 4);
    nameBuf.write(name, 'latin1');
    const descBuf = Buffer.alloc(Math.ceil(desc.length / 4) * 4);
    desc.copy(descBuf);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(name.length + 1, 0);
    head.writeUInt32LE(desc.length, 4);
    head.writeUInt32LE(type, 8);
    return Buffer.concat([head, nameBuf, descBuf]);
  };
  return Buffer.concat([
    note('GNU', 3, Buffer.from(buildIdHex, 'hex')),
    note('Linux', 0x100, Buffer.from(`${release}\0`, 'latin1')),
    note('Xen', 0x12, Buffer.from([0, 0xfe, 0x78, 0x03, 0, 0, 0, 0])),
  ]);
}
