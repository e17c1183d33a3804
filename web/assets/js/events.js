// One EventSource on the node's public stream (GET /v1/events) for the
// whole page: the explorer and the doctor's view subscribe to its events.
// EventSource reconnects by itself (the node asks for 2 s); subscribers
// hear when the stream is live again, so they can read back what they
// missed (the stream has no replay).

const handlers = new Map(); // event name -> Set of fn(data)
const stateHandlers = new Set(); // fn("live" | "down")
let source = null;

function emit(name, data) {
  for (const fn of handlers.get(name) ?? []) {
    fn(data);
  }
}

function open() {
  if (source !== null) {
    return;
  }
  source = new EventSource("/v1/events");
  source.addEventListener("open", () => stateHandlers.forEach((fn) => fn("live")));
  source.addEventListener("error", () => stateHandlers.forEach((fn) => fn("down")));
  for (const name of ["block", "tx"]) {
    source.addEventListener(name, (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      emit(name, data);
    });
  }
}

/** Calls fn(data) for every `name` event ("block" or "tx"). */
export function onEvent(name, fn) {
  if (!handlers.has(name)) {
    handlers.set(name, new Set());
  }
  handlers.get(name).add(fn);
  open();
  return () => handlers.get(name).delete(fn);
}

/** Calls fn("live") whenever the stream (re)opens and fn("down") when it drops. */
export function onStreamState(fn) {
  stateHandlers.add(fn);
  open();
  if (source.readyState === EventSource.OPEN) {
    fn("live");
  }
  return () => stateHandlers.delete(fn);
}
