// The browser client of the WebSocket module: one ES module, no dependencies, no build step.
//
//   import { RealtimeClient } from "/ws/client.js";
//   const client = new RealtimeClient("ws://host/ws", { token: async () => fetchToken() });
//   client.on("room.message", (frame) => show(frame));
//   await client.connect();
//   await client.join("lobby");
//   client.broadcast("lobby", { text: "hi" });
//
// It answers heartbeat pings, reconnects by itself (exponential backoff with
// full jitter, never sooner than the server asked), joins its rooms again with
// `since` so missed room messages are replayed, and refreshes its token before
// it expires. See client.d.ts for the types and docs/modules/websockets.md for
// the policies.

/** What the client does after each close code: "reconnect", "token" or "stop". */
export const DEFAULT_CLOSE_POLICY = Object.freeze({
  1000: "stop", // the server ended the session on purpose
  1001: "reconnect", // graceful shutdown: server.shutdown said when
  1006: "reconnect", // lost connection; before open, a refused handshake
  1008: "stop", // policy violation: the same attempt would be refused again
  1011: "reconnect",
  1013: "reconnect", // connection limit: not before the error's retry_after
  4001: "reconnect", // heartbeat timeout
  4002: "reconnect", // idle timeout: the page is still open, so stay reachable
  4003: "token", // token expired: a fresh token first
  4008: "reconnect", // slow consumer: reconnect and recover the rooms' history
  4029: "reconnect", // rate limit abused: not before the error's retry_after
});

const DEFAULTS = Object.freeze({
  minDelay: 500,
  maxDelay: 20000,
  stableAfter: 10000,
  queueSize: 100,
  queueTimeout: 10000,
  requestTimeout: 10000,
  refreshLead: 60000,
});

// Sent when the server has been silent past its heartbeat interval and timeout.
const CLOSE_SERVER_SILENT = 4000;

/** A request answered with an `error` frame; `frame` is that frame. */
export class RequestError extends Error {
  constructor(frame) {
    super(`${frame.payload.code}: ${frame.payload.message}`);
    this.name = "RequestError";
    this.code = frame.payload.code;
    this.frame = frame;
  }
}

/** A send or request that could not complete: timed out, queue full, connection lost, closed. */
export class SendError extends Error {
  constructor(message) {
    super(message);
    this.name = "SendError";
  }
}

function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** The `exp` claim of a JWT in milliseconds since the epoch, or null when it has none. */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    return typeof claims.exp === "number" ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

export class RealtimeClient {
  #url;
  #options;
  #clock;
  #random;
  #policy;
  #listeners = new Map();
  #socket = null;
  #state = "closed";
  #stopped = true;
  #attempt = 0;
  #notBefore = 0;
  #token = null;
  #ack = null;
  #timers = { retry: null, stable: null, refresh: null, silence: null };
  #connectWaiters = [];
  #pending = new Map();
  #queue = [];
  // room -> {offset, epoch} of the last message received (null: history off).
  #rooms = new Map();

  /**
   * @param {string} url the WebSocket URL, such as ws://host/ws
   * @param {object} [options] see client.d.ts: token, closePolicy, delays, queue, clock, random
   */
  constructor(url, options = {}) {
    this.#url = url;
    this.#options = { ...DEFAULTS, ...options };
    const clock = options.clock ?? {};
    // Called as methods of the given clock, which may keep its time in its own fields.
    this.#clock = {
      setTimeout: clock.setTimeout ? (fn, ms) => clock.setTimeout(fn, ms) : (fn, ms) => setTimeout(fn, ms),
      clearTimeout: clock.clearTimeout ? (id) => clock.clearTimeout(id) : (id) => clearTimeout(id),
      now: clock.now ? () => clock.now() : () => Date.now(),
    };
    this.#random = options.random ?? Math.random;
    this.#policy = { ...DEFAULT_CLOSE_POLICY, ...(options.closePolicy ?? {}) };
  }

  /** "connecting", "connected", "reconnecting" or "closed". */
  get state() {
    return this.#state;
  }

  /** The last connection.ack's payload (connection_id, user_id, heartbeat settings), or null. */
  get connection() {
    return this.#ack;
  }

  /** The rooms the client is in, joined again after every reconnect. */
  get rooms() {
    return [...this.#rooms.keys()];
  }

  /** Call `handler` for `event`: "state", "error", "recovery", a frame type or "*"; returns an unsubscribe function. */
  on(event, handler) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) {
    this.#listeners.get(event)?.delete(handler);
  }

  /** Connect (again, after close()); resolves on connection.ack, rejects if the client stops first. */
  connect() {
    if (this.#state === "connected") return Promise.resolve(this.#ack);
    const acked = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#stopped) {
      this.#stopped = false;
      this.#attempt = 0;
      this.#open();
    }
    return acked;
  }

  /** Join `room`; resolves with room.joined's payload. The room is joined again after reconnects. */
  async join(room, { timeout } = {}) {
    const reply = await this.request("room.join", {}, { room, timeout });
    const { offset, epoch } = reply.payload;
    this.#rooms.set(room, offset === undefined ? null : { offset, epoch });
    return reply.payload;
  }

  /** Leave `room`; resolves with room.left's payload. */
  async leave(room, { timeout } = {}) {
    this.#rooms.delete(room);
    const reply = await this.request("room.leave", {}, { room, timeout });
    return reply.payload;
  }

  /** Send `payload` to the room's other members; resolves once the frame is handed to the socket. */
  broadcast(room, payload) {
    return this.send({ type: "room.broadcast", room, payload });
  }

  /** Send `data` to every connection of `user`; resolves once the frame is handed to the socket. */
  directSend(user, data) {
    return this.send({ type: "direct.send", payload: { to_user: user, data } });
  }

  /**
   * Send a frame and resolve with the frame answering it (matched on correlation_id).
   * Rejects with RequestError on an error frame, SendError on timeout or a lost connection.
   */
  request(type, payload = {}, { room, timeout } = {}) {
    const id = newId();
    const limit = timeout ?? this.#options.requestTimeout;
    const frame = { type, id, payload, ...(room === undefined ? {} : { room }) };
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, sent: false, queued: null };
      entry.timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        // Never a stale flush: a request that gave up takes its frame out of the queue.
        if (entry.queued) this.#unqueue(entry.queued);
        reject(new SendError(`${type}: no answer within ${limit} ms`));
      }, limit);
      this.#pending.set(id, entry);
      const { promise, queued } = this.#deliver(frame, limit, () => {
        entry.sent = true;
      });
      entry.queued = queued;
      promise.catch((error) => this.#settle(id, (pending) => pending.reject(error)));
    });
  }

  /**
   * Send one frame now, or queue it while not connected (bounded, each with a deadline).
   * Resolves once it is handed to the socket; rejects when it cannot be sent in time.
   */
  send(frame, { deadline } = {}) {
    const { promise } = this.#deliver(frame, deadline ?? this.#options.queueTimeout);
    // The caller may ignore the promise of a fire-and-forget send; its failure is still theirs to read.
    promise.catch(() => {});
    return promise;
  }

  /** Close for good: no reconnect; queued sends and pending requests fail. */
  close(code = 1000, reason = "client closed") {
    this.#stop(code, reason);
    if (this.#socket) {
      const socket = this.#socket;
      this.#socket = null;
      socket.close(code, reason);
    }
  }

  #deliver(frame, deadline, onSent = () => {}) {
    if (this.#state === "connected") {
      this.#socket.send(JSON.stringify(frame));
      onSent();
      return { promise: Promise.resolve(), queued: null };
    }
    if (this.#stopped) return { promise: Promise.reject(new SendError("the client is closed")), queued: null };
    if (this.#queue.length >= this.#options.queueSize) {
      const error = new SendError(`send queue full (${this.#options.queueSize} frames)`);
      return { promise: Promise.reject(error), queued: null };
    }
    let queued;
    const promise = new Promise((resolve, reject) => {
      queued = { frame, resolve, reject, onSent };
      queued.timer = this.#clock.setTimeout(() => {
        this.#unqueue(queued);
        reject(new SendError(`${frame.type}: not connected within ${deadline} ms`));
      }, deadline);
      this.#queue.push(queued);
    });
    return { promise, queued };
  }

  #unqueue(queued) {
    const index = this.#queue.indexOf(queued);
    if (index >= 0) this.#queue.splice(index, 1);
    this.#clock.clearTimeout(queued.timer);
  }

  #emit(event, value) {
    for (const handler of [...(this.#listeners.get(event) ?? [])]) {
      try {
        handler(value);
      } catch (error) {
        // One listener's bug must not stop the others, nor the client.
        globalThis.reportError?.(error);
      }
    }
  }

  #setState(state, details = {}) {
    this.#state = state;
    this.#emit("state", { state, ...details });
  }

  #cancel(name) {
    if (this.#timers[name] !== null) this.#clock.clearTimeout(this.#timers[name]);
    this.#timers[name] = null;
  }

  #settle(id, action) {
    const entry = this.#pending.get(id);
    if (!entry) return;
    this.#pending.delete(id);
    this.#clock.clearTimeout(entry.timer);
    action(entry);
  }

  async #takeToken() {
    const source = this.#options.token;
    if (source === undefined || source === null) return null;
    if (typeof source === "function") return await source();
    const expiry = tokenExpiry(source);
    if (expiry !== null && expiry <= this.#clock.now()) {
      throw new Error("the token has expired and no token function was given");
    }
    return source;
  }

  async #open() {
    if (this.#state !== "reconnecting") this.#setState("connecting");
    let token;
    try {
      token = await this.#takeToken();
    } catch (error) {
      if (typeof this.#options.token === "function") {
        this.#retry({ code: null, reason: `no token: ${error.message}` });
      } else {
        this.#stop(null, error.message);
      }
      return;
    }
    if (this.#stopped) return;
    this.#token = token;
    const Socket = this.#options.WebSocket ?? globalThis.WebSocket;
    let socket;
    try {
      socket = token ? new Socket(this.#url, ["bearer", token]) : new Socket(this.#url);
    } catch (error) {
      this.#stop(null, error.message); // a malformed URL: no attempt can succeed
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#closed(event.code, event.reason, opened);
    };
  }

  #receive(data) {
    if (typeof data !== "string") {
      this.#emit("binary", data);
      return;
    }
    const frame = JSON.parse(data);
    switch (frame.type) {
      case "connection.ack":
        this.#connected(frame.payload);
        break;
      case "heartbeat.ping":
        this.#socket.send(JSON.stringify({ type: "heartbeat.pong", payload: { ts: frame.payload.ts } }));
        break;
      case "server.shutdown":
        this.#notBefore = Math.max(this.#notBefore, this.#clock.now() + frame.payload.reconnect_after_ms);
        break;
      case "room.message":
        if (this.#rooms.has(frame.room) && frame.offset !== undefined) {
          this.#rooms.set(frame.room, { offset: frame.offset, epoch: frame.epoch });
        }
        break;
      case "error":
        if (typeof frame.payload.retry_after === "number") {
          this.#notBefore = Math.max(this.#notBefore, this.#clock.now() + frame.payload.retry_after * 1000);
        }
        break;
      default:
    }
    const answered = frame.correlation_id !== undefined && this.#pending.has(frame.correlation_id);
    if (answered) {
      this.#settle(frame.correlation_id, (entry) =>
        frame.type === "error" ? entry.reject(new RequestError(frame)) : entry.resolve(frame),
      );
    } else if (frame.type === "error") {
      this.#emit("error", frame);
    }
    if (frame.type !== "error") this.#emit(frame.type, frame);
    this.#emit("*", frame);
    this.#watchSilence();
  }

  #connected(ack) {
    this.#ack = ack;
    this.#setState("connected", { connection_id: ack.connection_id });
    this.#cancel("stable");
    this.#timers.stable = this.#clock.setTimeout(() => {
      this.#timers.stable = null;
      this.#attempt = 0;
    }, this.#options.stableAfter);
    this.#rejoin();
    for (const queued of this.#queue.splice(0)) {
      this.#clock.clearTimeout(queued.timer);
      this.#socket.send(JSON.stringify(queued.frame));
      queued.onSent();
      queued.resolve();
    }
    this.#scheduleRefresh(tokenExpiry(this.#token ?? ""));
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve(ack);
  }

  // Joins go out before anything queued, so queued broadcasts find their rooms joined.
  #rejoin() {
    for (const [room, position] of this.#rooms) {
      const payload = position === null ? {} : { since: position };
      this.request("room.join", payload, { room }).then(
        (reply) => {
          const joined = reply.payload;
          const recovered = joined.recovered === true;
          if (!recovered && joined.offset !== undefined && this.#rooms.has(room)) {
            this.#rooms.set(room, { offset: joined.offset, epoch: joined.epoch });
          }
          this.#emit("recovery", { room, recovered, missed: joined.missed ?? 0 });
        },
        (error) => {
          if (error instanceof RequestError) this.#rooms.delete(room);
        },
      );
    }
  }

  #scheduleRefresh(expiry) {
    this.#cancel("refresh");
    if (expiry === null || typeof this.#options.token !== "function") return;
    const remaining = expiry - this.#clock.now();
    const lead = Math.min(this.#options.refreshLead, remaining / 4);
    this.#timers.refresh = this.#clock.setTimeout(() => this.#refresh(), Math.max(0, remaining - lead));
  }

  async #refresh() {
    this.#timers.refresh = null;
    try {
      const token = await this.#options.token();
      const reply = await this.request("auth.refresh", { token });
      this.#token = token;
      this.#scheduleRefresh(reply.payload.exp * 1000);
    } catch (error) {
      // The old token counts until its exp; then the server closes with 4003 and a new connection takes a new token.
      this.#emit("error", {
        type: "error",
        payload: { code: "AUTH_REFRESH_FAILED", message: error.message, retry_after: null },
      });
    }
  }

  #watchSilence() {
    this.#cancel("silence");
    if (this.#ack === null) return;
    const { heartbeat_interval: interval, heartbeat_timeout: timeout } = this.#ack;
    const socket = this.#socket;
    this.#timers.silence = this.#clock.setTimeout(() => {
      this.#timers.silence = null;
      // A half-open connection may take minutes to report its close: drop it now.
      this.#socket = null;
      socket.close(CLOSE_SERVER_SILENT, "server silent");
      this.#closed(CLOSE_SERVER_SILENT, "server silent", true);
    }, (interval + timeout) * 1000);
  }

  #closed(code, reason, opened) {
    for (const name of ["stable", "refresh", "silence"]) this.#cancel(name);
    this.#ack = null;
    // A frame that went out on the lost connection will never be answered.
    for (const [id, entry] of [...this.#pending]) {
      if (entry.sent) this.#settle(id, (pending) => pending.reject(new SendError("connection lost")));
    }
    if (this.#stopped) return;
    const action = this.#policy[code] ?? "reconnect";
    if (action === "stop") {
      this.#stop(code, reason);
    } else if (action === "token" && typeof this.#options.token !== "function") {
      this.#stop(code, "the token has expired and no token function was given");
    } else {
      // Browsers show a refused handshake as 1006 before open: the next attempt takes a new token anyway.
      this.#retry({ code, reason, opened });
    }
  }

  #retry(details) {
    const cap = Math.min(this.#options.maxDelay, this.#options.minDelay * 2 ** this.#attempt);
    const jittered = this.#random() * cap;
    const delay = Math.max(jittered, this.#notBefore - this.#clock.now());
    this.#attempt += 1;
    this.#setState("reconnecting", { ...details, delay, attempt: this.#attempt });
    this.#timers.retry = this.#clock.setTimeout(() => {
      this.#timers.retry = null;
      if (!this.#stopped) this.#open();
    }, delay);
  }

  #stop(code, reason) {
    const wasStopped = this.#stopped;
    this.#stopped = true;
    for (const name of Object.keys(this.#timers)) this.#cancel(name);
    const error = new SendError(`closed: ${reason}`);
    for (const queued of this.#queue.splice(0)) {
      this.#clock.clearTimeout(queued.timer);
      queued.reject(error);
    }
    this.#rooms.clear();
    for (const id of [...this.#pending.keys()]) this.#settle(id, (entry) => entry.reject(error));
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    this.#ack = null;
    if (!wasStopped || this.#state !== "closed") this.#setState("closed", { code, reason });
  }
}
