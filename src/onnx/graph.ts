/** A small ONNX graph builder over onnx-proto: typed initialisers, nodes with explicitly typed attributes, unique names. */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

const { onnx } = onnxProto;

/** The IR version and default-domain opset every oracx export declares (ORT 1.30 and onnx 1.23 accept both). */
export const IR_VERSION = 8;
/** Default-domain opset of the exported graphs. */
export const OPSET = 17;

/** Element types the exporters use. */
export type ElemType = 'float32' | 'float64' | 'int64' | 'int8' | 'bool';

const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The ONNX TensorProto data type number of an element type (for Cast's `to`). */
export function dataType(type: ElemType): number {
  return DATA_TYPE[type];
}

/**
 * A node attribute with its ONNX type spelled out: JavaScript has one number type, so `1.0` and `1` are the same
 * value and an attribute's type can never be inferred from it.
 */
export type Attr =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'string'; value: string };

/** Attribute constructors: `attr.float(1)` is a FLOAT attribute even though 1 is an integer. */
export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
};

function attributeProto(name: string, a: Attr): P.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      if (!Number.isSafeInteger(a.value)) throw new RangeError(`onnx attribute ${name}: ${a.value} is not an integer`);
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

/** Little-endian bytes of values as the element type (ONNX raw_data is little-endian on every platform). */
function rawBytes(type: ElemType, values: ArrayLike<number>): Uint8Array {
  const width = { float32: 4, float64: 8, int64: 8, int8: 1, bool: 1 }[type];
  const view = new DataView(new ArrayBuffer(values.length * width));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (type === 'float32') view.setFloat32(i * 4, v, true);
    else if (type === 'float64') view.setFloat64(i * 8, v, true);
    else if (type === 'int64') view.setBigInt64(i * 8, BigInt(v), true);
    else if (type === 'int8') view.setInt8(i, v);
    else view.setUint8(i, v ? 1 : 0);
  }
  return new Uint8Array(view.buffer);
}

/** A graph input or output dimension: a fixed size or a symbolic name such as 'N'. */
export type Dim = number | string;

function valueInfo(name: string, type: ElemType, dims: readonly Dim[], docString = ''): P.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, docString, type: { tensorType: { elemType: DATA_TYPE[type], shape: { dim } } } };
}

interface GraphState {
  nodes: P.INodeProto[];
  initializers: P.ITensorProto[];
  inputs: P.IValueInfoProto[];
  outputs: P.IValueInfoProto[];
  used: Set<string>;
}

/** What goes into the ModelProto around the graph. */
export interface ModelInfo {
  graphName: string;
  docString: string;
  producerVersion: string;
  metadata: Record<string, string>;
}

/**
 * Builds one graph. Value names get the builder's prefix (`scope('m0')` gives `m0/…`), so ensemble members can reuse
 * the single-model builders without clashing; graph inputs and outputs keep the exact names given.
 */
export class GraphBuilder {
  private constructor(
    private readonly state: GraphState,
    private readonly prefix: string,
  ) {}

  /** An empty graph. */
  static create(): GraphBuilder {
    return new GraphBuilder({ nodes: [], initializers: [], inputs: [], outputs: [], used: new Set() }, '');
  }

  /** A view of the same graph whose new names start with `${prefix}/`. */
  scope(prefix: string): GraphBuilder {
    return new GraphBuilder(this.state, `${this.prefix}${prefix}/`);
  }

  private fresh(hint: string): string {
    const base = `${this.prefix}${hint}`;
    let name = base;
    for (let n = 1; this.state.used.has(name); n++) name = `${base}_${n}`;
    this.state.used.add(name);
    return name;
  }

  /** Declare a graph input; returns its name. */
  input(name: string, type: ElemType, dims: readonly Dim[], docString = ''): string {
    if (this.state.used.has(name)) throw new Error(`onnx graph: value name '${name}' used twice`);
    this.state.used.add(name);
    this.state.inputs.push(valueInfo(name, type, dims, docString));
    return name;
  }

  /** Declare `value` (already produced under exactly this name) as a graph output. */
  output(name: string, type: ElemType, dims: readonly Dim[], docString = ''): void {
    this.state.outputs.push(valueInfo(name, type, dims, docString));
  }

  /** A constant tensor stored as an initialiser; returns its name. */
  init(hint: string, type: ElemType, dims: readonly number[], values: ArrayLike<number>): string {
    const count = dims.reduce((p, d) => p * d, 1);
    if (values.length !== count) throw new Error(`onnx initialiser ${hint}: ${values.length} values for shape [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    this.state.initializers.push({ name, dataType: DATA_TYPE[type], dims: [...dims], rawData: rawBytes(type, values) });
    return name;
  }

  /** A scalar (rank-0) constant. */
  scalar(hint: string, type: ElemType, value: number): string {
    return this.init(hint, type, [], [value]);
  }

  /** A rank-1 constant. */
  vector(hint: string, type: ElemType, values: ArrayLike<number>): string {
    return this.init(hint, type, [values.length], values);
  }

  /** Add a node with one output; returns the output's name (`output` fixes it, e.g. for a graph output). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    if (output !== undefined) {
      if (this.state.used.has(output)) throw new Error(`onnx graph: value name '${output}' used twice`);
      this.state.used.add(output);
    }
    this.state.nodes.push({
      name: `${out}:${opType}`,
      opType,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([k, a]) => attributeProto(k, a)),
    });
    return out;
  }

  /** The serialised ModelProto (IR 8, opset 17); the same graph and info give the same bytes. */
  encode(info: ModelInfo): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'oracx',
      producerVersion: info.producerVersion,
      docString: info.docString,
      graph: {
        name: info.graphName,
        node: this.state.nodes,
        initializer: this.state.initializers,
        input: this.state.inputs,
        output: this.state.outputs,
      },
      metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Decode a ModelProto (for reading metadata back); throws a RangeError for bytes that are not an ONNX model. */
export function decodeModel(bytes: Uint8Array): P.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new RangeError(`not an ONNX model: ${(error as Error).message}`, { cause: error });
  }
}
