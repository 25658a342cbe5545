/**
 * The ONNX export: the addon's fp32 inference plan rebuilt as an ONNX graph, opset 17, written with onnx-proto
 * (protobufjs). The plan comes folded (BatchNorm folded into the convolutions, the adaptor into the heads) or,
 * with `fold: false`, as the trainable model's layers (BatchNormalization nodes, the adaptor's own 1x1 conv);
 * see cpp/model/plan_description.cpp. The graph computes what predict() computes:
 * - backbone: stem conv + ReLU, 3x3/2 max-pool, residual blocks (convs with ReLU between, identity or projected
 *   shortcut, ReLU after the sum);
 * - features: layer2 and layer3 resized to twice layer2's size (bilinear, align_corners), concatenated, 3x3
 *   average pooling counting the zero padding (cpp/model/feature_pipeline.cpp);
 * - heads: segmentation (1x1 conv, LeakyReLU, 1x1 conv), classification (5x5 conv over features and map with
 *   its explicit padding of 2, the adaptor bias map when folded, ReLU, max and mean pooling of it and of the map, linear);
 * - map: bilinear resize to the image size (half-pixel centres) and the 25-tap Gaussian blur as two 1-D
 *   convolutions over a reflect-padded copy (cpp/model/anomaly_map.cpp).
 * Inputs: `images` float32 [N,3,H,W] preprocessed, or with `preprocess`, `pixels` uint8 [N,H,W,3] RGB at the
 * model size, normalised inside the graph. Outputs: `map` [N,1,H,W], `score_logit` [N], `score` [N] (sigmoid),
 * all float32; for a calibrated model also `anomalous` uint8 [N] and `mask` uint8 [N,1,H,W] (lib/export/verdict.ts).
 * The batch axis is dynamic.
 *
 * fp16: weights and the convolutional body in float16, for GPU runtimes (TensorRT, onnxruntime CUDA/WebGPU).
 * Inputs and outputs stay float32, with Casts at the edges, so that callers feed and read the same arrays in
 * both precisions. The preprocessing, the pooling, the linear layer, the sigmoid and the map (resize, blur)
 * stay float32, as in the addon's fp16 plan: a mean over thousands of positions or a 25-tap blur sum loses
 * digits in float16, and the score and the map are what thresholds read.
 */
import { onnx } from 'onnx-proto';

import { SsnError } from '../errors';
import { initializerBytes, moveToExternal, PROTOBUF_LIMIT } from './external_data';

import type { NativePlanDescription } from '../binding';
import { type ConvSpec, FLOAT, Graph, UINT8, valueInfo } from './onnx_graph';
import { addVerdict } from './verdict';

export const ONNX_OPSET = 17;
const IR_VERSION = 8; // ONNX 1.12, the release of opset 17

interface PlanSpec {
  image_size: [number, number];
  feature_size: [number, number];
  variant: string;
  arch: string;
  folded: boolean;
  backbone: { stem: ConvSpec; stages: Array<Array<{ main: ConvSpec[]; shortcut: ConvSpec | null }>> };
  heads: {
    /** Present in an unfolded description. */
    adaptor: ConvSpec | null;
    /** Whether the classification head reads the adapted features (icpr) or the backbone's (jims). */
    cls_on_adapted: boolean;
    seg_hidden: ConvSpec;
    seg_slope: number;
    seg_out: ConvSpec;
    dec: ConvSpec;
    dec_bias_map: string | null;
    fc_weight: string;
    fc_bias: string;
  };
  blur_kernel: string;
  preprocessing: { bgr: boolean; max_pixel: number; mean: number[]; std: number[] };
}

// Option types spelt out here rather than imported from the graph builder: these declarations reach the
// package's public types, which must not import onnx-proto's (its .d.ts does not compile on its own).
export interface OnnxExportOptions {
  /** uint8 NHWC RGB pixels in, normalised inside the graph (for browsers and canvases). Default false. */
  preprocess?: boolean;
  /** Weights and compute of the convolutional body: 'fp32' (default) or 'fp16'; inputs and outputs stay float32. */
  precision?: 'fp32' | 'fp16';
  /** The folded inference plan (default true), or false: the trainable model's layers, BatchNorms and adaptor apart. */
  fold?: boolean;
  /** [height, width] or one side: must be the model's own (its size is fixed at creation); the default. */
  imageSize?: number | [number, number];
  /**
   * Keep the weights in `<file>.data` beside the graph (ONNX external data). Default: only when they would not fit
   * the 2 GB a single .onnx file can hold.
   */
  externalData?: boolean;
}

export interface OnnxGraphOptions {
  preprocess: boolean;
  precision: 'fp32' | 'fp16';
  /** A calibrated model's thresholds: the graph also outputs `anomalous` and `mask`. */
  verdict?: { imageThreshold: number; pixelThreshold: number };
  /**
   * Where the weights go as external data (a file name in the graph's folder): always, or only when the graph
   * would exceed what one .onnx file holds. Without it a graph that large is refused.
   */
  externalData?: { location: string; always: boolean };
}

export interface OnnxFiles {
  graph: Uint8Array;
  /** The external data file's name (relative to the graph's folder) and contents. */
  data?: { location: string; bytes: Buffer };
}

/** The ONNX model (serialised ModelProto) of a plan description, and its external data when there is any. */
export function planToOnnx(description: NativePlanDescription, options: OnnxGraphOptions): OnnxFiles {
  const spec = JSON.parse(description.spec) as PlanSpec;
  const g = new Graph(description.tensors, options.precision);
  const [H, W] = spec.image_size;
  const [fh, fw] = spec.feature_size;

  // Input, and the preprocessing when asked for (in float32): (x - mean * max_pixel) * (1 / (std * max_pixel)).
  let x = 'images';
  let input = valueInfo('images', FLOAT, ['batch', 3, H, W]);
  if (options.preprocess) {
    const p = spec.preprocessing;
    input = valueInfo('pixels', UINT8, ['batch', H, W, 3]);
    x = g.node('Transpose', [g.cast('pixels', FLOAT, UINT8)], { perm: [0, 3, 1, 2] });
    if (p.bgr) x = g.node('Gather', [x, g.ints([2, 1, 0])], { axis: 1 });
    const mean = g.floats(
      p.mean.map((m) => Math.fround(m) * p.max_pixel),
      [1, 3, 1, 1],
    );
    const invStd = g.floats(
      p.std.map((s) => 1 / Math.fround(Math.fround(s) * p.max_pixel)),
      [1, 3, 1, 1],
    );
    x = g.node('Mul', [g.node('Sub', [x, mean]), invStd]);
  }
  x = g.cast(x, g.computeType, FLOAT);

  // Backbone.
  const b = spec.backbone;
  let y = g.node('Relu', [g.conv(x, b.stem, 'stem')]);
  y = g.node('MaxPool', [y], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const layers: string[] = [];
  b.stages.forEach((blocks, s) => {
    blocks.forEach((block, k) => {
      let z = y;
      block.main.forEach((c, i) => {
        z = g.conv(z, c, `layer${s + 1}.${k}.conv${i + 1}`);
        if (i + 1 < block.main.length) z = g.node('Relu', [z]);
      });
      const shortcut = block.shortcut ? g.conv(y, block.shortcut, `layer${s + 1}.${k}.shortcut`) : y;
      y = g.node('Relu', [g.node('Add', [z, shortcut])]);
    });
    layers.push(y);
  });

  // Feature aggregation.
  const cat = g.node('Concat', [g.resize(layers[1], fh, fw, 'align_corners'), g.resize(layers[2], fh, fw, 'align_corners')], { axis: 1 });
  const features = g.node('AveragePool', [cat], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 });

  // Heads; folded, the adaptor is inside seg_hidden and dec (and the bias map).
  const h = spec.heads;
  const adapted = h.adaptor ? g.conv(features, h.adaptor, 'adaptor') : features;
  const hidden = g.node('LeakyRelu', [g.conv(adapted, h.seg_hidden, 'seg_hidden')], { alpha: h.seg_slope });
  const seg = g.conv(hidden, h.seg_out, 'seg_logits');
  const clsFeatures = h.adaptor && h.cls_on_adapted ? adapted : features;
  let dec = g.conv(g.node('Concat', [clsFeatures, seg], { axis: 1 }), h.dec, 'dec');
  if (h.dec_bias_map) dec = g.node('Add', [dec, g.weight(h.dec_bias_map)]);
  dec = g.cast(g.node('Relu', [dec]), FLOAT);
  const seg32 = g.cast(seg, FLOAT);
  const pooled = g.node(
    'Concat',
    [
      g.node('ReduceMax', [dec], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMean', [dec], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMax', [seg32], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMean', [seg32], { axes: [2, 3], keepdims: 0 }),
    ],
    { axis: 1 },
  );
  const logit = g.node('Gemm', [pooled, g.weight(h.fc_weight, { fp32: true }), g.weight(h.fc_bias, { fp32: true })], { transB: 1 });
  g.node('Reshape', [logit, g.ints([-1])], {}, 'score_logit');
  g.node('Sigmoid', ['score_logit'], {}, 'score');

  // Anomaly map, in float32.
  const k = g.shape(spec.blur_kernel)[0];
  const pad = (k - 1) / 2;
  const up = g.resize(seg32, H, W, 'half_pixel');
  const padded = g.node('Pad', [up, g.ints([0, 0, pad, pad, 0, 0, pad, pad])], { mode: 'reflect' });
  const column = g.weight(spec.blur_kernel, { dims: [1, 1, k, 1], name: `${spec.blur_kernel}.column`, fp32: true });
  const row = g.weight(spec.blur_kernel, { dims: [1, 1, 1, k], name: `${spec.blur_kernel}.row`, fp32: true });
  g.node('Conv', [g.node('Conv', [padded, column]), row], {}, 'map');

  const outputs = [
    valueInfo('map', FLOAT, ['batch', 1, H, W]),
    valueInfo('score_logit', FLOAT, ['batch']),
    valueInfo('score', FLOAT, ['batch']),
  ];
  if (options.verdict) {
    addVerdict(g, 'score', 'map', options.verdict);
    outputs.push(valueInfo('anomalous', UINT8, ['batch']), valueInfo('mask', UINT8, ['batch', 1, H, W]));
  }
  const graph: onnx.IGraphProto = {
    name: `supersimplenet-${spec.variant}-${spec.arch}`,
    node: g.nodes,
    initializer: g.initializers,
    input: [input],
    output: outputs,
  };
  const metadata: Record<string, string> = {
    arch: spec.arch,
    variant: spec.variant,
    image_size: `${H}x${W}`,
    precision: options.precision,
    folded: String(spec.folded),
    input: options.preprocess ? 'pixels' : 'images',
  };
  if (options.verdict) {
    metadata.image_threshold = String(options.verdict.imageThreshold);
    metadata.pixel_threshold = String(options.verdict.pixelThreshold);
  }
  // A file over protobuf's limit could not be written, let alone read: its weights go beside it. (Half the limit:
  // the rest of the graph and protobuf's own framing need room too.)
  let data: OnnxFiles['data'];
  const tooLarge = initializerBytes(g.initializers) > PROTOBUF_LIMIT / 2;
  const external = options.externalData;
  if (external && (external.always || tooLarge)) {
    data = { location: external.location, bytes: moveToExternal(g.initializers, external.location) };
  } else if (tooLarge) {
    throw new SsnError('ERR_SSN_INPUT', "The graph's weights exceed what one .onnx file can hold (2 GB).", 'Export with externalData.');
  }
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'supersimplenet',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key: `supersimplenet.${key}`, value })),
  };
  return { graph: onnx.ModelProto.encode(model).finish(), data };
}
