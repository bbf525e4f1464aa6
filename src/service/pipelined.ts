// Two stages of a stream overlapped: while work runs on one item (a database query), the source
// is already producing the next (reading and normalizing the next request message), so the
// database and this process take turns less. At most one item of each stage is in flight.

/**
 * Yields work(item) for each item of source, in order. A result is yielded as soon as it is
 * ready, without waiting for the next item: a client that sends its next message only after it
 * has read the answer to the previous one must get that answer first. The next work starts once
 * the consumer comes back for more, so a consumer that stops reading stops everything upstream.
 */
export async function* pipelined<S, T>(source: AsyncIterator<S>, work: (item: S) => Promise<T>): AsyncGenerator<T> {
  let item = await source.next();
  if (item.done) return;
  let running = quiet(work(item.value));
  let ahead = quiet(source.next());
  try {
    for (;;) {
      yield await running;
      item = await ahead;
      if (item.done) return;
      running = quiet(work(item.value));
      ahead = quiet(source.next());
    }
  } finally {
    // Stopped early (an error, or the consumer left): let the source clean up once it is idle.
    void source.return?.()?.catch(() => undefined);
  }
}

/** Marks a promise as handled: a rejection surfaces where it is awaited, never as "unhandled". */
function quiet<P>(p: Promise<P>): Promise<P> {
  p.catch(() => undefined);
  return p;
}
