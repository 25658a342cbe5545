/**
 * ONNX external data: a protobuf message, and so an .onnx file, cannot exceed 2 GB, so a larger graph keeps its
 * initializers in a side file next to it (ONNX's external data: each tensor names the file, its offset and its
 * length; runtimes resolve the file relative to the model). The tensors are laid out 4 KiB aligned, as the ONNX
 * tools write them, so that a runtime may map them.
 */
import type { onnx } from 'onnx-proto';

/** Protobuf's limit on one message, in bytes. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
const ALIGN = 4096;
/**
 * Smaller tensors stay inside the graph, as with ONNX's own tools: shape inference must read the constants of
 * Slice, Reshape and Pad, and runtimes refuse to look for them outside.
 */
const SIZE_THRESHOLD = 1024;
const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

/** Bytes of the initializers' raw data. */
export function initializerBytes(initializers: onnx.ITensorProto[]): number {
  return initializers.reduce((sum, t) => sum + (t.rawData?.length ?? 0), 0);
}

/**
 * Moves every initializer of 1 KB or more into one buffer and points the tensor at `location` (a file name, relative
 * to the model's folder). Returns the side file's contents.
 */
export function moveToExternal(initializers: onnx.ITensorProto[], location: string): Buffer {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of initializers) {
    const data = t.rawData;
    if (!data || data.length < SIZE_THRESHOLD) continue;
    const padding = (ALIGN - (offset % ALIGN)) % ALIGN;
    if (padding > 0) chunks.push(Buffer.alloc(padding));
    offset += padding;
    chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.length) },
    ];
    t.dataLocation = EXTERNAL;
    t.rawData = undefined;
    offset += data.length;
  }
  return Buffer.concat(chunks);
}
