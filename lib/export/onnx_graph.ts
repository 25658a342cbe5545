/**
 * A small ONNX graph builder for the exporter (lib/export/onnx.ts): nodes and initializers with unique names,
 * weights stored in the graph's compute precision (float32 or float16) and constants in float32.
 */
import { onnx } from 'onnx-proto';

import { SsnError } from '../errors';
import type { NativePlanDescription } from '../binding';
import { float16Bits } from './float16';

export type Attribute = number | number[] | string;
export type Precision = 'fp32' | 'fp16';

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
export const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT64 = onnx.TensorProto.DataType.INT64;

export interface ConvSpec {
  weight: string;
  bias: string;
  stride: number[];
  padding: number[];
  dilation: number[];
  groups: number;
  /** Present in an unfolded description: the eval-mode BatchNorm after the convolution. */
  bn?: { weight: string; bias: string; mean: string; var: string; eps: number };
}

export class Graph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  /** The element type of weights and activations between the casts at the edges. */
  readonly computeType: number;
  private count = 0;

  constructor(
    private readonly tensors: NativePlanDescription['tensors'],
    readonly precision: Precision,
  ) {
    this.computeType = precision === 'fp16' ? FLOAT16 : FLOAT;
  }

  shape(source: string): number[] {
    const t = this.tensors[source];
    if (!t) throw new SsnError('ERR_SSN_INTERNAL', `The plan description has no tensor '${source}'.`);
    return t.shape;
  }

  /**
   * An initializer from the plan's tensor `source` in the compute precision (float32 with `fp32`), once per
   * name (default: the source's), shaped `dims`.
   */
  weight(source: string, options: { dims?: number[]; name?: string; fp32?: boolean } = {}): string {
    const name = options.name ?? source;
    if (!this.initializers.some((t) => t.name === name)) {
      const shape = this.shape(source);
      const dims = options.dims ?? shape;
      const data = this.tensors[source].data;
      if (options.fp32 || this.precision === 'fp32') {
        this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytes(data) });
      } else {
        this.initializers.push({ name, dims, dataType: FLOAT16, rawData: bytes(half(data, source)) });
      }
    }
    return name;
  }

  /** A float32 constant. */
  floats(values: number[], dims: number[]): string {
    const name = `const_${this.count++}`;
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytes(Float32Array.from(values)) });
    return name;
  }

  ints(values: number[]): string {
    const name = `const_${this.count++}`;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: bytes(data) });
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

  /** x as `to` (an ONNX element type); nothing when the graph computes in that type already and x is in it. */
  cast(x: string, to: number, from = this.computeType): string {
    return to === from ? x : this.node('Cast', [x], { to });
  }

  /** The convolution, then its BatchNorm when the description keeps it apart; the output is named `name`. */
  conv(x: string, c: ConvSpec, name: string): string {
    const [ph, pw] = c.padding;
    const attributes = {
      kernel_shape: this.shape(c.weight).slice(2),
      strides: c.stride,
      pads: [ph, pw, ph, pw],
      dilations: c.dilation,
      group: c.groups,
    };
    const inputs = [x, this.weight(c.weight), this.weight(c.bias)];
    if (!c.bn) return this.node('Conv', inputs, attributes, name);
    const bn = c.bn;
    const y = this.node('Conv', inputs, attributes, `${name}.conv`);
    const params = [bn.weight, bn.bias, bn.mean, bn.var].map((t) => this.weight(t));
    return this.node('BatchNormalization', [y, ...params], { epsilon: bn.eps }, name);
  }

  /** Bilinear resize of x [N,C,h,w] to [N,C,height,width], with a dynamic batch. */
  resize(x: string, height: number, width: number, transform: 'align_corners' | 'half_pixel'): string {
    const leading = this.node('Slice', [this.node('Shape', [x]), this.ints([0]), this.ints([2])]);
    const sizes = this.node('Concat', [leading, this.ints([height, width])], { axis: 0 });
    return this.node('Resize', [x, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: transform });
  }
}

/** float32 data as float16; a value past the fp16 range cannot be exported in fp16. */
function half(data: Float32Array, source: string): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    out[i] = float16Bits(data[i]);
    if ((out[i] & 0x7c00) === 0x7c00 && Number.isFinite(data[i])) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `The weight '${source}' holds ${data[i]}, past the float16 range (65504): the model cannot be exported in fp16.`,
        'Export it with precision fp32.',
      );
    }
  }
  return out;
}

function bytes(a: Float32Array | Uint16Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function attribute(name: string, value: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

export function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}
