/**
 * The jobs socket: connects to the "/jobs" namespace and follows background jobs (a voice's training,
 * a render) by id. `watch` is sent again on every (re)connection, and the server answers it with the
 * job's state at once, so after a reconnect the state is current without a REST call. The payloads
 * are generated from the server's models (backend/realtime/events.py -> events.gen.ts).
 */

import type { Socket } from "socket.io-client";
import { openSocket, type SocketOptions } from "./socket";
import type { JobErrorEvent, JobEvent, JobsClientEvents, JobsServerEvents } from "./events.gen";

export type { JobErrorEvent, JobEvent } from "./events.gen";

export const JOBS_NAMESPACE = "/jobs";

type Handlers<E> = { [K in keyof E]: (data: E[K]) => void };
export type JobsToClient = Handlers<JobsServerEvents>;
export type JobsToServer = Handlers<JobsClientEvents>;

export type JobWatcherOptions = SocketOptions;

export interface JobWatcherEvents {
  /** A watched job's state (the answer to `watch`, then every change). */
  job: (job: JobEvent) => void;
  /** The server's error about a job (job_not_found) or a message; a refused connection (unauthorized). */
  error: (error: JobErrorEvent) => void;
  /** Connected or not: while not, the caller falls back to polling. */
  connection: (connected: boolean) => void;
}

type Listeners = { [K in keyof JobWatcherEvents]: Set<JobWatcherEvents[K]> };

export class JobWatcher {
  readonly socket: Socket<JobsToClient, JobsToServer>;
  private readonly listeners: Listeners = { job: new Set(), error: new Set(), connection: new Set() };
  private readonly watched = new Set<string>();
  private closed = false;

  constructor(options: JobWatcherOptions = {}) {
    this.socket = openSocket<JobsToClient, JobsToServer>(JOBS_NAMESPACE, options, { first: 1000, max: 10000 });
    this.wire();
  }

  on<K extends keyof JobWatcherEvents>(event: K, listener: JobWatcherEvents[K]): () => void {
    (this.listeners[event] as Set<JobWatcherEvents[K]>).add(listener);
    return () => (this.listeners[event] as Set<JobWatcherEvents[K]>).delete(listener);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Follow `jobId` (connecting if needed): its state comes as a `job` event now and on every change. */
  watch(jobId: string): void {
    if (this.closed) return;
    this.watched.add(jobId);
    if (this.socket.connected) this.socket.emit("watch", { job_id: jobId });
    else if (!this.socket.active) this.socket.connect();
  }

  unwatch(jobId: string): void {
    if (this.watched.delete(jobId) && this.socket.connected) this.socket.emit("unwatch", { job_id: jobId });
  }

  /** Disconnect for good (the server leaves the rooms with the connection). */
  close(): void {
    this.closed = true;
    this.watched.clear();
    this.socket.disconnect();
    this.socket.removeAllListeners();
  }

  private emitTo<K extends keyof JobWatcherEvents>(event: K, ...args: Parameters<JobWatcherEvents[K]>): void {
    for (const listener of this.listeners[event]) (listener as (...a: unknown[]) => void)(...args);
  }

  private wire(): void {
    const s = this.socket;
    s.on("connect", () => {
      this.emitTo("connection", true);
      for (const jobId of this.watched) s.emit("watch", { job_id: jobId });
    });
    s.on("disconnect", (reason) => {
      this.emitTo("connection", false);
      if (!this.closed && reason === "io server disconnect") s.connect(); // socket.io does not retry this one
    });
    s.on("connect_error", (error: Error & { data?: { code?: string; message?: string } }) => {
      if (s.active) return; // retrying by itself; the caller keeps polling meanwhile
      this.emitTo("error", { code: error.data?.code ?? "connect_refused", message: error.data?.message ?? "Сервер отказал в подключении.", detail: error.message });
    });
    s.on("job", (job) => this.emitTo("job", job));
    s.on("error", (error) => this.emitTo("error", error));
  }
}
