/**
 * The ONNX export: the addon's fp32 inference plan (BatchNorm folded, the adaptor folded into the heads; see
 * cpp/model/plan_description.cpp) rebuilt as an ONNX graph, opset 17, written with onnx-proto (protobufjs).
 * The graph computes what predict() computes:
 * - backbone: stem conv + ReLU, 3x3/2 max-pool, residual blocks (convs with ReLU between, identity or projected
 *   shortcut, ReLU after the sum);
 * - features: layer2 and layer3 resized to twice layer2's size (bilinear, align_corners), concatenated, 3x3
 *   average pooling counting the zero padding (cpp/model/feature_pipeline.cpp);
 * - heads: segmentation (1x1 conv, LeakyReLU, 1x1 conv), classification (5x5 conv over features and map with
 *   its explicit padding of 2, the adaptor bias map, ReLU, max and mean pooling of it and of the map, linear);
 * - map: bilinear resize to the image size (half-pixel centres) and the 25-tap Gaussian blur as two 1-D
 *   convolutions over a reflect-padded copy (cpp/model/anomaly_map.cpp).
 * Inputs: `images` float32 [N,3,H,W] preprocessed, or with `preprocess`, `pixels` uint8 [N,H,W,3] RGB at the
 * model size, normalised inside the graph. Outputs: `map` [N,1,H,W], `score_logit` [N], `score` [N] (sigmoid).
 * The batch axis is dynamic.
 */
import { onnx } from 'onnx-proto';

import type { NativePlanDescription } from '../binding';

export const ONNX_OPSET = 17;
const IR_VERSION = 8; // ONNX 1.12, the release of opset 17

interface ConvSpec {
  weight: string;
  bias: string;
  stride: number[];
  padding: number[];
  dilation: number[];
  groups: number;
}

interface PlanSpec {
  image_size: [number, number];
  feature_size: [number, number];
  variant: string;
  arch: string;
  backbone: { stem: ConvSpec; stages: Array<Array<{ main: ConvSpec[]; shortcut: ConvSpec | null }>> };
  heads: {
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

export interface OnnxExportOptions {
  /** uint8 NHWC RGB pixels in, normalised inside the graph (for browsers and canvases). Default false. */
  preprocess?: boolean;
}

type Attribute = number | number[] | string;

/** Nodes and initializers, with unique names. */
class Graph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private count = 0;

  constructor(private readonly tensors: NativePlanDescription['tensors']) {}

  /** An initializer from the plan's tensor `source`, once per name (default: the source's), shaped `dims`. */
  weight(source: string, dims?: number[], name = source): string {
    if (!this.initializers.some((t) => t.name === name)) {
      const t = this.tensors[source];
      if (!t) throw new Error(`plan description: no tensor '${source}'`);
      this.initializers.push({ name, dims: dims ?? t.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes(t.data) });
    }
    return name;
  }

  floats(values: number[], dims: number[]): string {
    const name = `const_${this.count++}`;
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes(Float32Array.from(values)) });
    return name;
  }

  ints(values: number[]): string {
    const name = `const_${this.count++}`;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes(data) });
    return name;
  }

  node(op: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? `${op.toLowerCase()}_${this.count++}`;
    this.nodes.push({
      opType: op,
      name: out,
      input: inputs,
      output: [out],
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  conv(x: string, c: ConvSpec, name: string): string {
    const [ph, pw] = c.padding;
    return this.node(
      'Conv',
      [x, this.weight(c.weight), this.weight(c.bias)],
      {
        kernel_shape: this.tensors[c.weight].shape.slice(2),
        strides: c.stride,
        pads: [ph, pw, ph, pw],
        dilations: c.dilation,
        group: c.groups,
      },
      name,
    );
  }

  /** Bilinear resize of x [N,C,h,w] to [N,C,height,width], with a dynamic batch. */
  resize(x: string, height: number, width: number, transform: 'align_corners' | 'half_pixel'): string {
    const leading = this.node('Slice', [this.node('Shape', [x]), this.ints([0]), this.ints([2])]);
    const sizes = this.node('Concat', [leading, this.ints([height, width])], { axis: 0 });
    return this.node('Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: transform });
  }
}

function bytes(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function attribute(name: string, value: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** The ONNX model (serialised ModelProto) of a plan description. */
export function planToOnnx(description: NativePlanDescription, options: OnnxExportOptions = {}): Uint8Array {
  const spec = JSON.parse(description.spec) as PlanSpec;
  const g = new Graph(description.tensors);
  const [H, W] = spec.image_size;
  const [fh, fw] = spec.feature_size;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;

  // Input, and the preprocessing when asked for: (x - mean * max_pixel) * (1 / (std * max_pixel)).
  let x = 'images';
  let input = valueInfo('images', FLOAT, ['batch', 3, H, W]);
  if (options.preprocess) {
    const p = spec.preprocessing;
    input = valueInfo('pixels', onnx.TensorProto.DataType.UINT8, ['batch', H, W, 3]);
    x = g.node('Transpose', [g.node('Cast', ['pixels'], { to: FLOAT })], { perm: [0, 3, 1, 2] });
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

  // Heads.
  const h = spec.heads;
  const hidden = g.node('LeakyRelu', [g.conv(features, h.seg_hidden, 'seg_hidden')], { alpha: h.seg_slope });
  const seg = g.conv(hidden, h.seg_out, 'seg_logits');
  let dec = g.conv(g.node('Concat', [features, seg], { axis: 1 }), h.dec, 'dec');
  if (h.dec_bias_map) dec = g.node('Add', [dec, g.weight(h.dec_bias_map)]);
  dec = g.node('Relu', [dec]);
  const pooled = g.node(
    'Concat',
    [
      g.node('ReduceMax', [dec], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMean', [dec], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMax', [seg], { axes: [2, 3], keepdims: 0 }),
      g.node('ReduceMean', [seg], { axes: [2, 3], keepdims: 0 }),
    ],
    { axis: 1 },
  );
  const logit = g.node('Gemm', [pooled, g.weight(h.fc_weight), g.weight(h.fc_bias)], { transB: 1 });
  g.node('Reshape', [logit, g.ints([-1])], {}, 'score_logit');
  g.node('Sigmoid', ['score_logit'], {}, 'score');

  // Anomaly map.
  const k = description.tensors[spec.blur_kernel].shape[0];
  const pad = (k - 1) / 2;
  const up = g.resize(seg, H, W, 'half_pixel');
  const padded = g.node('Pad', [up, g.ints([0, 0, pad, pad, 0, 0, pad, pad])], { mode: 'reflect' });
  const vertical = g.node('Conv', [padded, g.weight(spec.blur_kernel, [1, 1, k, 1], `${spec.blur_kernel}.column`)]);
  g.node('Conv', [vertical, g.weight(spec.blur_kernel, [1, 1, 1, k], `${spec.blur_kernel}.row`)], {}, 'map');

  const graph: onnx.IGraphProto = {
    name: `supersimplenet-${spec.variant}-${spec.arch}`,
    node: g.nodes,
    initializer: g.initializers,
    input: [input],
    output: [valueInfo('map', FLOAT, ['batch', 1, H, W]), valueInfo('score_logit', FLOAT, ['batch']), valueInfo('score', FLOAT, ['batch'])],
  };
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'supersimplenet',
    graph,
  };
  return onnx.ModelProto.encode(model).finish();
}
