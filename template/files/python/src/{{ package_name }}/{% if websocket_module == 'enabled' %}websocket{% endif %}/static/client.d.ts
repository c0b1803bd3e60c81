// Types of client.js, the browser client of the WebSocket module.

/** A frame the server sent (see the wire contract's "Server to client"). */
export interface ServerFrame<P = any> {
  type: string;
  id: string;
  ts: string;
  payload: P;
  room?: string;
  correlation_id?: string;
  sender?: { connection_id: string; user_id: string | null };
  /** On room.message when the server keeps history. */
  offset?: number;
  epoch?: string;
}

export interface ConnectionAck {
  connection_id: string;
  user_id: string | null;
  heartbeat_interval: number;
  heartbeat_timeout: number;
  max_message_size: number;
  server_time: string;
}

export interface RoomJoined {
  room: string;
  members: number;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  missed?: number;
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export interface StateEvent {
  state: ConnectionState;
  /** The close code that led here, when there was one. */
  code?: number | null;
  reason?: string;
  /** "reconnecting": milliseconds until the next attempt, and its number since the last stable connection. */
  delay?: number;
  attempt?: number;
  /** "reconnecting": whether the lost connection had opened (false: a refused or failed handshake). */
  opened?: boolean;
  /** "connected": the new connection's id. */
  connection_id?: string;
}

export interface RecoveryEvent {
  room: string;
  /** True when every room message missed while away was replayed (they follow as room.message). */
  recovered: boolean;
  missed: number;
}

/** What to do after a close code: reconnect, reconnect with a fresh token (stop without a token function), or stop. */
export type CloseAction = "reconnect" | "token" | "stop";

export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface RealtimeClientOptions {
  /** A token, or a function giving one, called before every connection attempt and before each auth.refresh. */
  token?: string | (() => string | Promise<string>);
  /** Overrides of DEFAULT_CLOSE_POLICY, by close code; codes in neither reconnect. */
  closePolicy?: Record<number, CloseAction>;
  /** Backoff: full jitter between 0 and min(maxDelay, minDelay * 2^attempt) ms (defaults 500, 20000). */
  minDelay?: number;
  maxDelay?: number;
  /** Milliseconds connected after which the backoff starts again from minDelay (default 10000). */
  stableAfter?: number;
  /** Frames kept while not connected (default 100); past it a send fails at once. */
  queueSize?: number;
  /** Milliseconds a queued frame waits for a connection before its send fails (default 10000). */
  queueTimeout?: number;
  /** Milliseconds a request waits for its answer, queueing included (default 10000). */
  requestTimeout?: number;
  /** auth.refresh goes out this long before the token's exp, or at 3/4 of its remaining life if sooner (default 60000). */
  refreshLead?: number;
  /** For tests: timers and time; its functions are called as its methods. */
  clock?: Partial<Clock>;
  /** For tests: a number in [0, 1), as Math.random. */
  random?: () => number;
  /** For tests: the WebSocket constructor. */
  WebSocket?: typeof WebSocket;
}

export declare const DEFAULT_CLOSE_POLICY: Readonly<Record<number, CloseAction>>;

/** The exp claim of a JWT in milliseconds since the epoch, or null. */
export declare function tokenExpiry(token: string): number | null;

/** A request answered with an error frame. */
export declare class RequestError extends Error {
  readonly code: string;
  readonly frame: ServerFrame<{ code: string; message: string; retry_after: number | null }>;
}

/** A send or request that could not complete: timed out, queue full, connection lost, client closed. */
export declare class SendError extends Error {}

export declare class RealtimeClient {
  constructor(url: string, options?: RealtimeClientOptions);
  readonly state: ConnectionState;
  /** The current connection's connection.ack payload, or null while not connected. */
  readonly connection: ConnectionAck | null;
  /** The rooms joined, joined again after every reconnect. */
  readonly rooms: string[];

  on(event: "state", handler: (event: StateEvent) => void): () => void;
  on(event: "recovery", handler: (event: RecoveryEvent) => void): () => void;
  /** Error frames that answered no request (and failed token refreshes, code AUTH_REFRESH_FAILED). */
  on(event: "error", handler: (frame: ServerFrame<{ code: string; message: string; retry_after: number | null }>) => void): () => void;
  on(event: "binary", handler: (data: Blob | ArrayBuffer) => void): () => void;
  /** A server frame type, or "*" for every frame. */
  on(event: string, handler: (frame: ServerFrame) => void): () => void;
  off(event: string, handler: (...args: any[]) => void): void;

  /** Resolves on connection.ack; rejects if the client stops (close(), a "stop" close code) first. */
  connect(): Promise<ConnectionAck>;
  join(room: string, options?: { timeout?: number }): Promise<RoomJoined>;
  leave(room: string, options?: { timeout?: number }): Promise<{ room: string }>;
  broadcast(room: string, payload: Record<string, unknown>): Promise<void>;
  directSend(user: string, data: unknown): Promise<void>;
  request<P = any>(
    type: string,
    payload?: Record<string, unknown>,
    options?: { room?: string; timeout?: number },
  ): Promise<ServerFrame<P>>;
  send(frame: { type: string; id?: string; room?: string; payload?: unknown }, options?: { deadline?: number }): Promise<void>;
  /** No reconnect after this; queued sends and pending requests fail. */
  close(code?: number, reason?: string): void;
}
