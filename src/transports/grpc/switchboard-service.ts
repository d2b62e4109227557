import type {
  handleServerStreamingCall,
  handleUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Outbound } from '../../core/delivery.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { ConnectionAdmission } from '../../edge/connection-admission.js';
import type { Edge } from '../../edge/edge.js';
import { admitStream, authenticateCall } from './grpc-auth.js';
import { toServiceError } from './grpc-errors.js';
import { decodeMessage, encodeMember, encodeMessage } from './proto-codec.js';
import type { ProtoModel, ProtoRpc } from './proto-model.js';
import { SessionStream } from './session-stream.js';

export interface SwitchboardServiceOptions {
  readonly edge: Edge;
  /** Only for sessions: a stream call opens one and closes it when the call ends. */
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  /** Credentials and the app's connect hook, for streaming calls (connections); absent: the authenticator alone. */
  readonly admission?: ConnectionAdmission;
  readonly logger: Logger;
  readonly model: ProtoModel;
  /** Serializes an rpc's response message (proto-loader's), so a push is encoded once for every stream. */
  readonly serialize: (rpc: string, message: object) => Buffer;
  /** Bytes a stream may have waiting before it is cut off as a slow consumer. */
  readonly sendQueueBytes: number;
  /** Called with each stream, so shutdown can end the ones still open. */
  readonly onStream: (stream: SessionStream) => void;
}

/**
 * switchboard.v1.Switchboard: one handler per rpc of the model, none written per command.
 * A unary call decodes its request into the command's input, authenticates from metadata
 * and runs the command through the pipeline every wire shares; a streaming call is a
 * session of its own, opened for the call and closed when it ends.
 */
export function switchboardService(options: SwitchboardServiceOptions): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const rpc of options.model.rpcs) {
    implementation[rpc.name] = rpc.stream ? streamingCall(rpc, options) : unaryCall(rpc, options);
  }
  return implementation;
}

function unaryCall(rpc: ProtoRpc, options: SwitchboardServiceOptions): handleUnaryCall<unknown, object> {
  const { edge, authenticator, logger } = options;
  return (call, callback) => {
    (async () => {
      const principal = await authenticateCall(call.metadata, authenticator);
      const input = decodeMessage(rpc.request, call.request);
      const result = await edge.pipeline.run(rpc.command, input, { principal, session: null, wire: 'grpc' });
      return encodeMessage(rpc.response, result);
    })().then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, logger)),
    );
  };
}

function streamingCall(rpc: ProtoRpc, options: SwitchboardServiceOptions): handleServerStreamingCall<unknown, Buffer> {
  const { logger } = options;
  const stream = rpc.stream!;
  const serialize = (message: object) => options.serialize(rpc.name, message);
  const encode = (message: Outbound) => {
    if (!stream.frames.has(message.type)) return null;
    // The hub hands a stored event wrapped (see Outbound); the stream carries the event itself.
    const frame = message.type === 'event' ? message.event : message;
    return serialize(encodeMember(rpc.response, message.type, frame)!);
  };
  return (call) => {
    const session = new SessionStream({
      call,
      format: `grpc-proto:${rpc.response.name}`,
      encode,
      maxQueuedBytes: options.sendQueueBytes,
      logger,
    });
    options.onStream(session);
    runSession(rpc, call, session, serialize, options).catch((error: unknown) => session.end(toServiceError(error, logger)));
  };
}

/** Opens the call's session, runs the command on it and sends its result; pushes flow until the call ends. */
async function runSession(
  rpc: ProtoRpc,
  call: ServerWritableStream<unknown, Buffer>,
  stream: SessionStream,
  serialize: (message: object) => Buffer,
  options: SwitchboardServiceOptions,
): Promise<void> {
  const { hub, logger } = options;
  const principal = options.admission
    ? await admitStream(call.metadata, options.admission)
    : await authenticateCall(call.metadata, options.authenticator);
  const input = decodeMessage(rpc.request, call.request);
  // Refuse a bad call before its session exists: a session shows its user online.
  options.edge.pipeline.check(rpc.command, input, principal);
  if (stream.ended) return;
  const session = await hub.connect(principal, 'grpc', stream);
  stream.onEnd(() => {
    hub.disconnect(session).catch((error: unknown) => logger.warn({ err: error }, 'gRPC session disconnect failed'));
  });
  const result = await options.edge.pipeline.run(rpc.command, input, { principal, session, wire: 'grpc' });
  stream.write(serialize(encodeMember(rpc.response, rpc.stream!.resultMember, result)!));
}
