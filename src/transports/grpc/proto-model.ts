import { z } from 'zod';
import { BINDINGS, isServed } from '../../../protocol/bindings.js';
import { COMMAND_NAMES, COMMANDS, type CommandName } from '../../../protocol/commands.js';
import { pushFrame } from '../../../protocol/frames.js';

/**
 * The gRPC mapping of the protocol: every command with a gRPC binding as an rpc, its
 * input and result schemas as messages, the pushed frames as a stream's oneof. Built by
 * walking the zod schemas, so the .proto (proto-text.ts renders it) and the adapter's
 * codec (proto-codec.ts) read one description and cannot disagree.
 *
 * The rules, in the order they apply to a schema:
 * - a schema with `.meta({id})` is a top-level message or enum of that name, shared by every use;
 * - string, boolean, `z.unknown()` (google.protobuf.Value); numbers with `.int()` are int64, others double;
 * - optional, nullable and defaulted fields are proto3 `optional` (message fields have presence anyway);
 * - arrays are `repeated`; records are `map<string, ...>`, a list value wrapped in `<Element>List`;
 * - an anonymous enum is the named enum holding all its values (exactly one), else an enum nested in its message;
 * - an anonymous object is a message nested in its parent, named after the field (singular for lists);
 * - a union of named messages is a oneof; any other union of objects is one message with every
 *   branch's fields (literals that differ become an enum or bool; a literal all branches share is dropped);
 * - a single literal (a frame's `type`) is implied by its message and not sent.
 */

export type Scalar = 'string' | 'int64' | 'double' | 'bool';

export type ProtoType =
  | { readonly kind: 'scalar'; readonly scalar: Scalar }
  | { readonly kind: 'enum'; readonly enum: ProtoEnum }
  | { readonly kind: 'value' }
  | { readonly kind: 'message'; readonly message: ProtoMessage };

export interface ProtoField {
  /** The protocol's field name (lowerCamelCase, as proto-loader hands fields over); the .proto spells it snake_case. */
  readonly name: string;
  readonly type: ProtoType;
  readonly label: 'single' | 'repeated' | 'map';
  /**
   * The protocol lets it be left out (optional, nullable, defaulted): a scalar is declared
   * proto3 `optional`. A field that is not has no presence: unset reads as '', 0 or false.
   */
  readonly optional: boolean;
  /** On an optional number the schema refuses 0 for (a positive one), a set 0 means unset. */
  readonly zeroIsUnset: boolean;
  readonly doc: string | null;
}

export interface ProtoMessage {
  readonly kind: 'message';
  /** Dotted below the package: `Channel`, `PublishBatchResponse.Result`. */
  readonly name: string;
  readonly parent: ProtoMessage | null;
  readonly doc: string | null;
  readonly fields: ProtoField[];
  /** Set when every field is a member of this oneof (a union of messages, a stream's responses). */
  oneof: string | null;
  /** The JavaScript value is a list, carried in the field `items` (a map value that is a list). */
  readonly list: boolean;
  /** Literal fields the message implies (a frame's `type`): not sent, restored when decoding. */
  readonly constants: Record<string, unknown>;
  readonly nested: ProtoDefinition[];
}

export interface ProtoEnum {
  readonly kind: 'enum';
  readonly name: string;
  readonly parent: ProtoMessage | null;
  readonly doc: string | null;
  /** The protocol's strings; on the wire `<PREFIX>_<VALUE>`, after `<PREFIX>_UNSPECIFIED = 0`. */
  readonly values: readonly string[];
  readonly prefix: string;
}

export type ProtoDefinition = ProtoMessage | ProtoEnum;

export interface ProtoStream {
  /** The oneof member carrying the command's result, sent once the command has run. */
  readonly resultMember: string;
  /** Pushed frame `type` -> oneof member (the same name). */
  readonly frames: ReadonlySet<string>;
}

export interface ProtoRpc {
  readonly command: CommandName;
  readonly name: string;
  readonly doc: string;
  readonly request: ProtoMessage;
  readonly response: ProtoMessage;
  /** For a `stream: true` binding: the response is a oneof of the result and the session's pushes. */
  readonly stream: ProtoStream | null;
}

export interface ProtoModel {
  readonly rpcs: readonly ProtoRpc[];
  /** Top-level enums and messages: shared values first, then each rpc's messages, in rpc order. */
  readonly definitions: readonly ProtoDefinition[];
}

/** The oneof of a stream's responses; `kind` is the oneof of unions (as in google.protobuf.Value). */
export const STREAM_ONEOF = 'payload';
const UNION_ONEOF = 'kind';
/** A shared type whose description would repeat on more fields than this is described once, in the header. */
const SHARED_DOC_LIMIT = 5;
/** Frames that are not pushes on a gRPC stream: `close` ends the call with a status instead. */
const NOT_STREAMED = new Set(['close']);

let built: ProtoModel | null = null;

/** The model of the protocol as it is now (built once). */
export function protoModel(): ProtoModel {
  return (built ??= new ModelBuilder().build());
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

class ModelBuilder {
  readonly #values: ProtoDefinition[] = [];
  readonly #rpcMessages: ProtoDefinition[] = [];
  readonly #byName = new Map<string, ProtoDefinition>();
  /** Messages and enums by the schema they come from (named schemas, rpc inputs and results). */
  readonly #bySchema = new Map<z.ZodType, ProtoDefinition>();
  readonly #namedEnums: { schema: z.ZodEnum; values: ReadonlySet<string> }[] = [];
  readonly #namedObjects: AnyObject[] = [];
  readonly #uses = new Map<z.ZodType, number>();
  readonly #topLevelNames = new Set<string>();

  build(): ProtoModel {
    const served = COMMAND_NAMES.flatMap((command) => {
      const grpc = BINDINGS[command].grpc;
      return isServed(grpc) ? [{ command, grpc }] : [];
    });
    const frames = streamedFrames();
    for (const { command } of served) {
      this.#survey(COMMANDS[command].input);
      this.#survey(COMMANDS[command].result);
    }
    for (const frame of frames) this.#survey(frame.schema);
    for (const { grpc } of served) {
      for (const suffix of ['Request', 'Response', 'Result']) this.#topLevelNames.add(`${grpc.rpc}${suffix}`);
    }

    // Every rpc's own messages are named first, so a schema reused elsewhere (publish's input
    // in publish.batch) is that message wherever it appears, whatever the order.
    const shells = served.map(({ command, grpc }) => {
      const { input, result } = COMMANDS[command];
      const request = this.#shell(`${grpc.rpc}Request`, input);
      const resultName = `${grpc.rpc}${grpc.stream ? 'Result' : 'Response'}`;
      const response = metaId(result) ? null : this.#shell(resultName, result);
      const envelope = grpc.stream ? this.#message(`${grpc.rpc}Response`, null, null, 'rpc') : null;
      return { command, grpc, request, response, envelope };
    });
    for (const { command, request, response } of shells) {
      const { input, result } = COMMANDS[command];
      this.#fill(request, input as AnyObject);
      if (response && result instanceof z.ZodObject) this.#fill(response, result as AnyObject);
    }

    const rpcs = shells.map(({ command, grpc, request, response, envelope }): ProtoRpc => {
      const result = response ?? this.#named(COMMANDS[command].result);
      const doc = rpcDoc(command, envelope !== null);
      if (!envelope) return { command, name: grpc.rpc, doc, request, response: result, stream: null };
      // A stream's responses: the command's result once, then the session's pushes.
      const resultMember = pastTense(command);
      envelope.oneof = STREAM_ONEOF;
      envelope.fields.push(field(resultMember, { kind: 'message', message: result }, 'single', null));
      for (const frame of frames) envelope.fields.push(field(frame.type, this.#frameType(frame.schema), 'single', frame.doc));
      const stream = { resultMember, frames: new Set(frames.map((frame) => frame.type)) };
      return { command, name: grpc.rpc, doc, request, response: envelope, stream };
    });
    return { rpcs, definitions: [...this.#values, ...this.#rpcMessages] };
  }

  /** Counts the uses of every schema and collects the named ones, before anything is named. */
  #survey(schema: z.ZodType, seen = new Set<z.ZodType>()): void {
    const { base } = unwrap(schema);
    this.#uses.set(base, (this.#uses.get(base) ?? 0) + 1);
    if (seen.has(base)) return;
    seen.add(base);
    const id = metaId(base);
    if (id) this.#topLevelNames.add(id);
    if (base instanceof z.ZodEnum && id && !this.#namedEnums.some((e) => e.schema === base)) {
      this.#namedEnums.push({ schema: base, values: new Set(base.options.map(String)) });
    }
    if (base instanceof z.ZodObject) {
      if (id && !this.#namedObjects.includes(base)) this.#namedObjects.push(base);
      for (const inner of Object.values(base.shape)) this.#survey(inner as z.ZodType, seen);
    } else if (base instanceof z.ZodArray) this.#survey(base.element as z.ZodType, seen);
    else if (base instanceof z.ZodRecord) this.#survey(base.valueType as z.ZodType, seen);
    else if (base instanceof z.ZodUnion) for (const option of base.options) this.#survey(option as z.ZodType, seen);
  }

  /**
   * An rpc's own message, empty until filled: a request (always its own, so requests can
   * grow apart), an anonymous result, or the empty message of a null result.
   */
  #shell(name: string, schema: z.ZodType): ProtoMessage {
    if (!(schema instanceof z.ZodObject) && !(schema instanceof z.ZodNull)) {
      throw new Error(`${name}: a command's input and result must be objects (or null).`);
    }
    const message = this.#message(name, null, describe(schema), 'rpc');
    if (schema instanceof z.ZodObject && !this.#bySchema.has(schema)) this.#bySchema.set(schema, message);
    return message;
  }

  #named(schema: z.ZodType): ProtoMessage {
    const type = this.#baseType(schema, 'result', null);
    if (type.kind !== 'message') throw new Error(`${metaId(schema)}: a named result must be a message.`);
    return type.message;
  }

  #frameType(schema: z.ZodType): ProtoType {
    // A frame that is a named value plus its `type` (the event frame) is carried as that value.
    // Its nullable fields may be optional there (absent means null): proto3 `optional` either way.
    if (schema instanceof z.ZodObject) {
      const keys = Object.keys(schema.shape).filter((key) => !(schema.shape[key] instanceof z.ZodLiteral));
      const same = this.#namedObjects.find(
        (named) =>
          named !== schema &&
          sameKeys(Object.keys(named.shape), keys) &&
          keys.every((k) => unwrap(named.shape[k] as z.ZodType).base === unwrap(schema.shape[k] as z.ZodType).base),
      );
      if (same) return this.#typeOf(same, 'frame', null).type;
    }
    return this.#typeOf(schema, 'frame', null).type;
  }

  #message(name: string, parent: ProtoMessage | null, doc: string | null, section: 'value' | 'rpc', list = false): ProtoMessage {
    const message: ProtoMessage = { kind: 'message', name, parent, doc, fields: [], oneof: null, list, constants: {}, nested: [] };
    this.#register(message, section);
    return message;
  }

  #register(definition: ProtoDefinition, section: 'value' | 'rpc'): void {
    if (this.#byName.has(definition.name)) throw new Error(`Two gRPC types are named ${definition.name}.`);
    this.#byName.set(definition.name, definition);
    if (definition.parent) definition.parent.nested.push(definition);
    else (section === 'value' ? this.#values : this.#rpcMessages).push(definition);
  }

  #fill(message: ProtoMessage, schema: AnyObject): void {
    for (const [name, inner] of Object.entries(schema.shape)) {
      if (inner instanceof z.ZodLiteral) {
        message.constants[name] = inner.value;
        continue;
      }
      message.fields.push({ name, ...this.#typeOf(inner as z.ZodType, name, message), doc: this.#fieldDoc(inner as z.ZodType) });
    }
  }

  /**
   * The outermost description on the way to the base type (a widely shared type's own is
   * left to the header), and a number's bounds and default, which proto3 cannot state.
   */
  #fieldDoc(schema: z.ZodType): string | null {
    const { base, docs } = unwrap(schema);
    const shared = metaId(base) !== undefined || (this.#uses.get(base) ?? 0) > SHARED_DOC_LIMIT;
    const text = docs[0] ?? (shared ? null : describe(base));
    const parts = [text, base instanceof z.ZodNumber ? numberRule(base, defaultOf(schema)) : null].filter(Boolean);
    return parts.length > 0 ? parts.join(' ') : null;
  }

  #typeOf(
    schema: z.ZodType,
    fieldName: string,
    parent: ProtoMessage | null,
  ): Omit<ProtoField, 'name' | 'doc'> {
    const { base, optional } = unwrap(schema);
    if (base instanceof z.ZodArray) {
      const element = this.#typeOf(base.element as z.ZodType, singular(fieldName), parent);
      if (element.label !== 'single') throw new Error(`${where(parent, fieldName)}: lists of lists have no gRPC mapping.`);
      return { type: element.type, label: 'repeated', optional, zeroIsUnset: false };
    }
    if (base instanceof z.ZodRecord) {
      const value = this.#typeOf(base.valueType as z.ZodType, singular(fieldName), parent);
      if (value.label === 'map') throw new Error(`${where(parent, fieldName)}: maps of maps have no gRPC mapping.`);
      const type: ProtoType = value.label === 'repeated' ? { kind: 'message', message: this.#listOf(value.type) } : value.type;
      return { type, label: 'map', optional, zeroIsUnset: false };
    }
    const zeroIsUnset = optional && base instanceof z.ZodNumber && !base.safeParse(0).success;
    return { type: this.#baseType(base, fieldName, parent), label: 'single', optional, zeroIsUnset };
  }

  #baseType(base: z.ZodType, fieldName: string, parent: ProtoMessage | null): ProtoType {
    const known = this.#bySchema.get(base);
    if (known) return known.kind === 'enum' ? { kind: 'enum', enum: known } : { kind: 'message', message: known };
    if (base instanceof z.ZodString) return { kind: 'scalar', scalar: 'string' };
    if (base instanceof z.ZodBoolean) return { kind: 'scalar', scalar: 'bool' };
    if (base instanceof z.ZodNumber) return { kind: 'scalar', scalar: base.isInt ? 'int64' : 'double' };
    if (base instanceof z.ZodUnknown || base instanceof z.ZodAny) return { kind: 'value' };
    if (base instanceof z.ZodEnum) return { kind: 'enum', enum: this.#enum(base, base.options.map(String), fieldName, parent) };
    if (base instanceof z.ZodObject) return { kind: 'message', message: this.#object(base, fieldName, parent) };
    if (base instanceof z.ZodUnion) return this.#union(base, fieldName, parent);
    throw new Error(`${where(parent, fieldName)}: ${base.def.type} has no gRPC mapping.`);
  }

  #enum(schema: z.ZodType, values: string[], fieldName: string, parent: ProtoMessage | null): ProtoEnum {
    const known = this.#bySchema.get(schema);
    if (known?.kind === 'enum') return known;
    const id = metaId(schema);
    if (!id) {
      const holders = this.#namedEnums.filter((named) => values.every((value) => named.values.has(value)));
      if (holders.length === 1) return this.#enum(holders[0]!.schema, [...holders[0]!.values], fieldName, null);
    }
    const name = id ?? this.#nestedName(pascal(fieldName), parent);
    const full = parent && !id ? `${parent.name}.${name}` : name;
    const definition: ProtoEnum = { kind: 'enum', name: full, parent: id ? null : parent, doc: describe(schema), values, prefix: screaming(name) };
    this.#register(definition, 'value');
    if (id) this.#bySchema.set(schema, definition);
    return definition;
  }

  #object(schema: AnyObject, fieldName: string, parent: ProtoMessage | null): ProtoMessage {
    const id = metaId(schema);
    if (!id && !parent) throw new Error(`${fieldName}: an object outside a message needs a .meta({ id }).`);
    const message = id
      ? this.#message(id, null, describe(schema), 'value')
      : this.#message(`${parent!.name}.${this.#nestedName(pascal(fieldName), parent)}`, parent, null, 'value');
    if (id) this.#bySchema.set(schema, message);
    this.#fill(message, schema);
    return message;
  }

  #union(schema: z.ZodUnion, fieldName: string, parent: ProtoMessage | null): ProtoType {
    const options = flattenUnion(schema);
    if (options.every((option) => option instanceof z.ZodLiteral)) {
      const values = [...new Set(options.flatMap((option) => [...(option as z.ZodLiteral).values]))];
      if (values.every((value) => typeof value === 'boolean')) return { kind: 'scalar', scalar: 'bool' };
      if (values.every((value) => typeof value === 'string')) return { kind: 'enum', enum: this.#enum(schema, values as string[], fieldName, parent) };
    }
    if (!options.every((option) => option instanceof z.ZodObject)) return { kind: 'value' };
    const objects = options as AnyObject[];
    const named = objects.filter((option) => metaId(option));
    const anonymous = objects.filter((option) => !metaId(option) && !named.some((n) => isPartOf(option, n)));
    const id = metaId(schema);
    const name = id ?? this.#nestedName(pascal(fieldName), parent);
    const full = id || !parent ? name : `${parent.name}.${name}`;
    const message = this.#message(full, id ? null : parent, describe(schema), 'value');
    if (id) this.#bySchema.set(schema, message);
    if (anonymous.length === 0) {
      message.oneof = UNION_ONEOF;
      for (const option of named) {
        const type = this.#typeOf(option, 'option', message).type;
        message.fields.push(field(camel(metaId(option)!), type, 'single', null));
      }
    } else {
      this.#fillMerged(message, objects);
    }
    return { kind: 'message', message };
  }

  /** One message for a union of objects: every branch's fields, optional where some branch lacks them. */
  #fillMerged(message: ProtoMessage, branches: AnyObject[]): void {
    const keys = [...new Set(branches.flatMap((branch) => Object.keys(branch.shape)))];
    for (const key of keys) {
      const schemas = branches.map((branch) => branch.shape[key] as z.ZodType | undefined);
      const present = schemas.filter((s): s is z.ZodType => s !== undefined);
      const inAll = present.length === branches.length;
      const literals = present.every((s) => s instanceof z.ZodLiteral) ? present.map((s) => (s as z.ZodLiteral).value) : null;
      if (literals && inAll && new Set(literals).size === 1) {
        message.constants[key] = literals[0];
        continue;
      }
      const bases = [...new Set(present.map((s) => unwrap(s).base))];
      const merged: z.ZodType =
        literals !== null
          ? z.union(present as [z.ZodType, z.ZodType])
          : bases.length === 1 || sameScalar(bases)
            ? bases[0]!
            : z.union(bases as [z.ZodType, z.ZodType]);
      const optional = !inAll || present.some((s) => unwrap(s).optional);
      message.fields.push({ name: key, ...this.#typeOf(optional ? merged.optional() : merged, key, message), doc: this.#fieldDoc(present[0]!) });
    }
  }

  #listOf(element: ProtoType): ProtoMessage {
    const elementName = element.kind === 'scalar' ? pascal(element.scalar) : element.kind === 'value' ? 'Value' : shortName(element);
    const name = `${elementName}List`;
    const existing = this.#byName.get(name);
    if (existing?.kind === 'message') return existing;
    const message = this.#message(name, null, `A list of ${elementName}, where a map needs one value.`, 'value', true);
    message.fields.push(field('items', element, 'repeated', null));
    return message;
  }

  /** A nested type's name: the field's, unless a top-level type is called so (it would be shadowed). */
  #nestedName(name: string, parent: ProtoMessage | null): string {
    let candidate = this.#topLevelNames.has(name) ? `${name}Info` : name;
    for (let n = 2; parent && this.#byName.has(`${parent.name}.${candidate}`); n++) candidate = `${name}${n}`;
    return candidate;
  }
}

function field(name: string, type: ProtoType, label: ProtoField['label'], doc: string | null): ProtoField {
  return { name, type, label, optional: false, zeroIsUnset: false, doc };
}

/** Every pushed frame a stream carries, with its `type`, in the protocol's order. */
function streamedFrames(): { type: string; schema: z.ZodType; doc: string | null }[] {
  return pushFrame.options.flatMap((option) => {
    const schema = option as z.ZodType;
    const type = frameTypeOf(schema);
    return NOT_STREAMED.has(type) ? [] : [{ type, schema, doc: describe(schema) }];
  });
}

function frameTypeOf(schema: z.ZodType): string {
  const object = schema instanceof z.ZodUnion ? (schema.options[0] as AnyObject) : (schema as AnyObject);
  const literal = object.shape.type;
  if (!(literal instanceof z.ZodLiteral) || typeof literal.value !== 'string') throw new Error('A pushed frame needs a literal `type`.');
  return literal.value;
}

function rpcDoc(command: CommandName, stream: boolean): string {
  const { summary, caller } = COMMANDS[command];
  const who = { any: '', user: ' Users only, not API keys.', server: " API keys only (the app's backend)." }[caller];
  const streaming = stream
    ? ` The call is a session of its own: it streams the session's pushes until cancelled, and the command's result as \`${pastTense(command)}\` once it has run.`
    : '';
  return `${command}: ${summary}.${who}${streaming}`;
}

/** `subscribe` -> `subscribed`: the stream member that carries a session command's result. */
function pastTense(command: CommandName): string {
  const verb = command.split('.').at(-1)!;
  return verb.endsWith('e') ? `${verb}d` : `${verb}ed`;
}

/** The schema inside optional / nullable / default wrappers, whether any made it optional, and the wrappers' descriptions. */
export function unwrap(schema: z.ZodType): { base: z.ZodType; optional: boolean; docs: string[] } {
  const docs: string[] = [];
  let optional = false;
  for (let current = schema; ; ) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
      optional = true;
    } else if (!(current instanceof z.ZodPipe || current instanceof z.ZodCatch)) {
      return { base: current, optional, docs };
    }
    const doc = describe(current);
    if (doc) docs.push(doc);
    current = (current instanceof z.ZodPipe ? current.in : current.unwrap()) as z.ZodType;
  }
}

function flattenUnion(schema: z.ZodUnion): z.ZodType[] {
  return schema.options.flatMap((option) => (option instanceof z.ZodUnion && !metaId(option) ? flattenUnion(option) : [option as z.ZodType]));
}

/** An anonymous object whose every field is the named one's (a deleted channel named by its id only). */
function isPartOf(part: AnyObject, whole: AnyObject): boolean {
  return Object.entries(part.shape).every(([key, schema]) => key in whole.shape && unwrap(whole.shape[key] as z.ZodType).base === unwrap(schema as z.ZodType).base);
}

/** `1-500; 100 when not given.`, for a number with both bounds or a default. */
function numberRule(schema: z.ZodNumber, fallback: unknown): string | null {
  const bounded = Number.isFinite(schema.minValue) && Number.isFinite(schema.maxValue) && Math.abs(schema.maxValue!) < Number.MAX_SAFE_INTEGER;
  const range = bounded ? `${schema.minValue}-${schema.maxValue}` : null;
  const given = fallback === undefined ? null : `${String(fallback)} when not given`;
  if (!range && !given) return null;
  return `${[range, given].filter(Boolean).join('; ')}.`;
}

function defaultOf(schema: z.ZodType): unknown {
  for (let current = schema; ; ) {
    if (current instanceof z.ZodDefault) return current.def.defaultValue;
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
    else return undefined;
  }
}

/** Strings, booleans, or numbers that are all integers (or all not): one proto scalar. */
function sameScalar(schemas: z.ZodType[]): boolean {
  const kind = (schema: z.ZodType) =>
    schema instanceof z.ZodString ? 'string' : schema instanceof z.ZodBoolean ? 'bool' : schema instanceof z.ZodNumber ? (schema.isInt ? 'int' : 'double') : null;
  const first = kind(schemas[0]!);
  return first !== null && schemas.every((schema) => kind(schema) === first);
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}

function metaId(schema: z.ZodType): string | undefined {
  const id = z.globalRegistry.get(schema)?.id;
  return typeof id === 'string' ? id : undefined;
}

function describe(schema: z.ZodType): string | null {
  return z.globalRegistry.get(schema)?.description ?? null;
}

function where(parent: ProtoMessage | null, field: string): string {
  return parent ? `${parent.name}.${field}` : field;
}

function shortName(type: Extract<ProtoType, { kind: 'enum' | 'message' }>): string {
  return (type.kind === 'enum' ? type.enum.name : type.message.name).split('.').at(-1)!;
}

/** `items` -> `item`: the name of one element of a list field (`status` stays). */
function singular(name: string): string {
  return /[^su]s$/.test(name) ? name.slice(0, -1) : name;
}

export function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `ChannelType` -> `CHANNEL_TYPE`, `bad_request` -> `BAD_REQUEST`. */
export function screaming(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/** An enum value as the .proto spells it: `CHANNEL_TYPE_PUBLIC`, `CODE_BAD_REQUEST`. */
export function enumValueName(definition: ProtoEnum, value: string): string {
  return `${definition.prefix}_${screaming(value)}`;
}

/** `createdAt` -> `created_at`: the .proto's spelling of a protocol field. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
