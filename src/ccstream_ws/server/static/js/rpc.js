// One WebSocket to the server carrying JSON-RPC 2.0; it reconnects by itself when it drops.
//
// States: connecting, open, reconnecting, refused (token or origin: retrying cannot help),
// closed (by the page). Calls made while not open fail at once; calls in flight when the
// connection drops fail with "connection lost". A heartbeat notices a connection that died
// without a close (a sleeping laptop, a dropped route) and replaces it.

const REFUSED = new Map([
  [4401, 'missing or wrong token'],
  [4403, "the server does not accept this page's origin"],
]);
const HEARTBEAT_MS = 10000;
const HEARTBEAT_TIMEOUT_MS = 8000;
const MAX_BACKOFF_MS = 5000;

export class RpcError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.data = error.data;
  }
}

export class Connection {
  /**
   * handlers: onOpen(greeting, isReconnect), onNotify(method, params), onState(state, detail),
   * onError(error) for errors that answer no call of ours.
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.state = 'idle';
    this.nextId = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.everOpen = false;
    this.reconnects = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.heartbeat = null;
    this.refusedCode = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    this.setState(this.everOpen ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (error) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event);
  }

  receive(text) {
    if (typeof text !== 'string') return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.method !== undefined) {
      if (message.method === 'connected') {
        const again = this.everOpen;
        if (again) this.reconnects += 1;
        this.everOpen = true;
        this.attempt = 0;
        this.setState('open');
        this.startHeartbeat();
        this.handlers.onOpen?.(message.params ?? {}, again);
      } else {
        this.handlers.onNotify?.(message.method, message.params ?? {});
      }
      return;
    }
    const call = this.pending.get(message.id);
    if (call === undefined) {
      if (message.error) this.handlers.onError?.(message.error);
      return;
    }
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.error) call.reject(new RpcError(message.error));
    else call.resolve(message.result);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.heartbeat);
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(new RpcError({ code: 0, message: 'connection lost' }));
    }
    this.pending.clear();
    if (this.stopped) {
      this.setState('closed');
      return;
    }
    const why = REFUSED.get(event.code);
    this.refusedCode = why === undefined ? null : event.code;
    if (why !== undefined) {
      this.setState('refused', `${why} (close code ${event.code})`);
      return;
    }
    this.retry();
  }

  retry() {
    // Exponential backoff with jitter, so many viewers of a restarted server do not return at
    // the same instant.
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.setState('reconnecting', `retrying in ${(delay / 1000).toFixed(1)} s`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const ws = this.ws;
      this.call('ping', {}, HEARTBEAT_TIMEOUT_MS).catch(() => {
        // No answer: the connection is dead without having said so. Replace it.
        if (ws === this.ws && ws !== null) this.drop();
      });
    }, HEARTBEAT_MS);
  }

  setState(state, detail = '') {
    this.state = state;
    this.handlers.onState?.(state, detail);
  }

  get open() {
    return this.state === 'open';
  }

  /** Send a request; resolves with its result, rejects with an RpcError. */
  call(method, params = {}, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      if (this.ws === null || this.state !== 'open') {
        reject(new RpcError({ code: 0, message: 'not connected' }));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError({ code: 0, message: `${method}: no answer in ${timeoutMs / 1000} s` }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Close the socket as a network failure would; the connection comes back by itself. */
  drop() {
    const ws = this.ws;
    if (ws === null) return;
    this.closed(ws, { code: 1006 });
    ws.onclose = null;
    ws.close();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.ws?.close(1000);
  }
}
