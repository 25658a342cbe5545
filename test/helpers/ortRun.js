'use strict';
/**
 * Runs an ONNX model in onnxruntime-node in a plain Node process: jest's sandbox has its own typed-array
 * constructors, which onnxruntime's output tensors fail to match. Reads {model, name, type, dims, file} as JSON
 * on argv[2]; writes every output as {dims, type, file} (its raw little-endian data) beside the input, JSON on
 * stdout.
 */
const fs = require('node:fs');
const ort = require('onnxruntime-node');

(async () => {
  const job = JSON.parse(process.argv[2]);
  const raw = fs.readFileSync(job.file);
  const data = job.type === 'uint8' ? new Uint8Array(raw) : new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const session = await ort.InferenceSession.create(job.model);
  const out = await session.run({ [job.name]: new ort.Tensor(job.type, data, job.dims) });
  const result = {};
  for (const [name, tensor] of Object.entries(out)) {
    const file = `${job.file}.${name}`;
    const values = tensor.data;
    fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    result[name] = { dims: tensor.dims, type: tensor.type, file };
  }
  process.stdout.write(JSON.stringify(result));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
