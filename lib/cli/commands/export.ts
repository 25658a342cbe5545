/**
 * `ssn export`: a model file as an ONNX graph of its whole inference (lib/export/onnx.ts), for onnxruntime
 * (Node, web), TensorRT and OpenVINO.
 */
import { type Command, Option } from 'commander';

import { parseSize } from '../format';
import { log, printResult } from '../output';
import { modelClass } from '../runtime';

interface ExportCliOptions {
  out: string;
  preprocess?: boolean;
  precision: 'fp32' | 'fp16';
  plain?: boolean;
  size?: string;
  externalData?: boolean;
}

const HELP = `
Outputs: map [N,1,H,W], score_logit [N], score [N] (float32); a calibrated model's graph also outputs
anomalous uint8 [N] (score >= image threshold) and mask uint8 [N,1,H,W] (map >= pixel threshold), as predict.

Running the graph:
  onnxruntime-node   const s = await ort.InferenceSession.create('model.onnx');
                     await s.run({ images: new ort.Tensor('float32', preprocessed, [1, 3, H, W]) })
  onnxruntime-web    export with --preprocess and feed canvas bytes at the model size, alpha dropped:
                     await s.run({ pixels: new ort.Tensor('uint8', rgb, [1, H, W, 3]) })
  TensorRT           trtexec --onnx=model.onnx --fp16 --minShapes=images:1x3xHxW --optShapes=images:8x3xHxW \\
                             --maxShapes=images:16x3xHxW --saveEngine=model.plan

fp16 graphs agree with predict within 1e-2 in onnxruntime-node on the CPU (2e-2 with --plain), which computes
them in float32 on the float16 weights; a GPU runtime computes in float16 and may differ more.
Not in the graph: training and calibration, resizing images to the model size, resizeToInput, bf16, and the
inference plan's CUDA graphs and pinned buffers (the runtime brings its own).`;

export function register(program: Command): void {
  program
    .command('export <model>')
    .description('write the model as an ONNX graph (opset 17): map, score logit and score')
    .requiredOption('-o, --out <file>', 'the .onnx file to write')
    .option('--preprocess', 'take uint8 NHWC RGB pixels at the model size and normalise them inside the graph')
    .addOption(
      new Option('--precision <precision>', 'fp16: float16 weights and compute inside (for GPUs), float32 inputs and outputs')
        .choices(['fp32', 'fp16'])
        .default('fp32'),
    )
    .option('--fold', 'the folded inference plan: BatchNorms and the adaptor folded into the convolutions (default)')
    .addOption(
      new Option('--plain', "the trainable model's layers: BatchNormalization nodes, the adaptor as its own 1x1 conv").conflicts('fold'),
    )
    .option('--size <HxW>', "only the model's own size (fixed when it was created; predict resizes images to it): another is refused")
    .option('--external-data', 'weights in <out>.data beside the graph (ONNX external data; automatic past the 2 GB one file holds)')
    .addHelpText('after', HELP)
    .action((model: string, opts: ExportCliOptions) => runExport(model, opts));
}

async function runExport(file: string, opts: ExportCliOptions): Promise<void> {
  const imageSize = opts.size === undefined ? undefined : parseSize(opts.size);
  const model = await modelClass().load(file, { device: 'cpu', logger: log });
  try {
    await model.exportOnnx(opts.out, {
      preprocess: opts.preprocess ?? false,
      precision: opts.precision,
      fold: !opts.plain,
      imageSize,
      externalData: opts.externalData ?? false,
    });
    const info = await model.info();
    const [h, w] = info.imageSize;
    printResult(
      `wrote ${opts.out}${opts.externalData ? ` and its weights ${opts.out}.data` : ''} (${opts.precision}, ${opts.plain ? 'plain' : 'folded'}): input ${opts.preprocess ? `pixels uint8 [N,${h},${w},3]` : `images float32 [N,3,${h},${w}]`}; ` +
        `outputs map [N,1,${h},${w}], score_logit [N], score [N]` +
        (info.calibration ? `, anomalous uint8 [N], mask uint8 [N,1,${h},${w}] (calibrated)` : ''),
    );
  } finally {
    model.dispose();
  }
}
