/**
 * A POSIX ustar archive of regular files only, no folder entries: what `docker cp - <container>:/` reads.
 * With no folder entries the engine creates missing parent folders itself (root, 0755), which is how the
 * Docker provider's `uploads` land in a container.
 */

/** One file of the archive: an absolute or relative path, its text and its permission bits. */
export interface TarFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

const BLOCK = 512;

/** An octal number field of `width` bytes: digits, zero padded, then a NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** ustar stores a path of up to 255 bytes as prefix (155) + "/" + name (100). */
function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  const cut = path.lastIndexOf("/", 155);
  const name = path.slice(cut + 1);
  if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(path.slice(0, cut)) > 155)
    throw new Error(`path too long for a ustar archive: ${path}`);
  return { name, prefix: path.slice(0, cut) };
}

function header(path: string, size: number, mode: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(path.replace(/^\/+/, ""));
  block.write(name, 0, 100);
  block.write(octal(mode, 8), 100);
  block.write(octal(0, 8), 108); // uid
  block.write(octal(0, 8), 116); // gid
  block.write(octal(size, 12), 124);
  block.write(octal(0, 12), 136); // mtime
  block.write("        ", 148); // the checksum field counts as spaces while summing
  block.write("0", 156); // a regular file
  block.write("ustar\0", 257);
  block.write("00", 263);
  block.write(prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return block;
}

export function tarArchive(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const body = Buffer.from(file.content);
    parts.push(header(file.path, body.length, file.mode), body);
    const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
    parts.push(Buffer.alloc(padding));
  }
  // Two empty blocks end the archive.
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
