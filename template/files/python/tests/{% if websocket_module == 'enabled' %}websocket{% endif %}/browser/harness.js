// What each test page runs: it imports the client from the server, makes one as
// `window.client` with the test's options and records what it does in `window.seen`
// (state, recovery and error events, and every frame), `window.attempts` (each
// connection attempt) and `window.arrivals` (each frame as it reaches the socket).
// test_browser_client.py evaluates it with its arguments.
async ({ url, withToken, options, randomValues, manualClock }) => {
  const { RealtimeClient } = await import("/ws/client.js");
  window.seen = [];
  window.attempts = [];
  window.arrivals = [];
  // Where each new connection goes, as a load balancer in front of several instances decides:
  // null sends it to the URL the client was given.
  window.upstream = null;
  class RecordedSocket extends WebSocket {
    constructor(target, protocols) {
      super(window.upstream ?? target, protocols);
      window.attempts.push(Date.now());
      // Registered before the client's own handler: stamps each frame before the client reads it.
      this.addEventListener("message", (event) => {
        const type = typeof event.data === "string" ? JSON.parse(event.data).type : "binary";
        window.arrivals.push({ at: Date.now(), type });
      });
    }
  }
  // Time that moves only when the test moves it: each of the client's timers (backoff, server
  // delays, deadlines, stability) fires exactly when the test says, however busy the machine.
  class ManualClock {
    #time = Date.now();
    #timers = new Map();
    #nextId = 1;
    now() {
      return this.#time;
    }
    setTimeout(callback, ms) {
      const id = this.#nextId++;
      this.#timers.set(id, { at: this.#time + ms, callback });
      return id;
    }
    clearTimeout(id) {
      this.#timers.delete(id);
    }
    // Move `ms` forward, running each timer that falls due on the way, soonest first.
    advance(ms) {
      const until = this.#time + ms;
      for (;;) {
        const due = [...this.#timers].filter(([, timer]) => timer.at <= until);
        if (due.length === 0) break;
        // Soonest first; of timers due together, the one set first (the sort is stable).
        const [id, timer] = due.sort(([, a], [, b]) => a.at - b.at)[0];
        this.#timers.delete(id);
        this.#time = timer.at;
        timer.callback();
      }
      this.#time = until;
    }
    // Milliseconds until each pending timer fires, soonest first.
    pending() {
      return [...this.#timers.values()].map((timer) => timer.at - this.#time).sort((a, b) => a - b);
    }
  }
  // The random source gives these in turn, then the last one again and again.
  const draws = [...randomValues];
  const random = () => (draws.length > 1 ? draws.shift() : draws[0]);
  window.clock = manualClock ? new ManualClock() : null;
  const client = new RealtimeClient(url, {
    ...options,
    token: withToken ? () => window.issueToken() : undefined,
    WebSocket: RecordedSocket,
    ...(draws.length === 0 ? {} : { random }),
    ...(window.clock === null ? {} : { clock: window.clock }),
  });
  for (const kind of ["state", "recovery", "error", "*"]) {
    client.on(kind, (value) => window.seen.push({ kind, at: Date.now(), value }));
  }
  window.client = client;
  // What connect() came to: its ack, or why the client gave up.
  client.connect().then(
    (ack) => { window.connectOutcome = { ack }; },
    (error) => { window.connectOutcome = { error: error.message }; },
  );
}
