// Serve (or call) a protobuf-es v2 service on @grpc/grpc-js: the descriptor-to-definition adapter.
import type * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";

type In<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;

/**
 * A message already in its binary encoding. grpc-js's serializer passes it through untouched, so
 * one encoding can be written to many streams (the ADS server encodes a response once and shares it
 * among every proxy that gets the same bytes). Typed as the message it encodes.
 */
export class PreEncoded {
  constructor(readonly bytes: Uint8Array) {}
}

/** The grpc-js handler type of one protobuf-es method, by its kind. */
export type GrpcHandler<M> =
  M extends { methodKind: "unary" } ? grpc.handleUnaryCall<In<M>, Out<M>>
  : M extends { methodKind: "server_streaming" } ? grpc.handleServerStreamingCall<In<M>, Out<M>>
  : M extends { methodKind: "client_streaming" } ? grpc.handleClientStreamingCall<In<M>, Out<M>>
  : M extends { methodKind: "bidi_streaming" } ? grpc.handleBidiStreamingCall<In<M>, Out<M>>
  : never;

/** Handlers for every method of a generated service, keyed by the method's local (camelCase) name. */
export type GrpcImplementation<S extends GenServiceMethods> = { [K in keyof S]: GrpcHandler<S[K]> };

/** The grpc-js definition of a generated service, typed by its methods. */
export type GrpcServiceDefinition<S extends GenServiceMethods> = grpc.ServiceDefinition<GrpcImplementation<S>>;

/**
 * Turns a protobuf-es `GenService` into a grpc-js `ServiceDefinition` (binary protobuf on the wire),
 * usable both with `server.addService(def, impl)` and `grpc.makeGenericClientConstructor(def, name)`.
 *
 * A request that does not decode makes grpc-js end that call with INTERNAL ("Error deserializing
 * request") and report it to the handler as `cancelled`; other calls are unaffected.
 */
export function grpcServiceDefinition<S extends GenServiceMethods>(service: GenService<S>): GrpcServiceDefinition<S> {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of (service as DescService).methods) {
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: (v) => bufferOf(v instanceof PreEncoded ? v.bytes : toBinary(m.input, v as MessageShape<typeof m.input>)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v) => bufferOf(v instanceof PreEncoded ? v.bytes : toBinary(m.output, v as MessageShape<typeof m.output>)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
      originalName: m.name,
    };
  }
  return def as GrpcServiceDefinition<S>;
}

/** A Buffer view of the encoder's output, without copying. */
function bufferOf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
