// Copying bytes both ways between a TCP socket and an HBONE stream, with half-close carried across:
// a FIN from the TCP side ends the HTTP/2 stream (END_STREAM) and END_STREAM becomes a FIN. Both
// sockets must allow half-open (allowHalfOpen), or Node would answer a FIN by closing its own side.
import { constants, type Http2Stream } from "node:http2";
import type { Duplex } from "node:stream";

/** How a pipe ended: cleanly (both sides closed), or the first error seen. */
export interface PipeResult {
  readonly error?: Error | undefined;
}

/** A running pipe. `done` settles when both sides are closed; `abort` tears both down. */
export interface Pipe {
  readonly done: Promise<PipeResult>;
  abort(reason: Error): void;
}

/** Pipes `a` <-> `b` until both are closed; the first error on either side destroys the other. */
export function pipeBoth(a: Duplex, b: Duplex): Pipe {
  let error: Error | undefined;
  let resolveDone!: (r: PipeResult) => void;
  const done = new Promise<PipeResult>((r) => (resolveDone = r));
  let closed = 0;
  const onClose = () => {
    if (++closed === 2) resolveDone({ error });
  };
  const onError = (other: Duplex) => (err: Error) => {
    error ??= err;
    kill(other);
  };
  // If one side goes away without ending (reset, destroy), the other cannot finish cleanly. A reset
  // HTTP/2 stream reports both halves ended, so its RST code decides (0 = NO_ERROR after END_STREAMs).
  const onPrematureClose = (side: Duplex, other: Duplex) => () => {
    const reset = "rstCode" in side && (side as unknown as Http2Stream).rstCode !== constants.NGHTTP2_NO_ERROR;
    if (reset || !side.readableEnded || !side.writableFinished) kill(other);
    onClose();
  };
  a.on("error", onError(b));
  b.on("error", onError(a));
  for (const [side, other] of [[a, b], [b, a]] as const) {
    // A side that went away while the other was being set up (client gone during the HBONE
    // handshake) has already emitted its 'close': count it now and tear the other down.
    if (side.destroyed) queueMicrotask(onPrematureClose(side, other));
    else side.once("close", onPrematureClose(side, other));
  }
  // pipe() calls end() on the destination when the source ends: FIN <-> END_STREAM.
  a.pipe(b);
  b.pipe(a);
  return {
    done,
    abort(reason: Error) {
      error ??= reason;
      kill(a);
      kill(b);
    },
  };
}

/**
 * Tears one side down so the peer learns it: an HTTP/2 stream is reset with CANCEL (a bare
 * destroy() may close it without telling the peer), a socket is destroyed.
 */
function kill(side: Duplex): void {
  // Http2Stream is not exported as a value; `rstCode` is a getter on its prototype.
  if ("rstCode" in side && !(side as Http2Stream).closed) (side as unknown as Http2Stream).close(constants.NGHTTP2_CANCEL);
  else side.destroy();
}
