/**
 * A real Socket.IO server (the `socket.io` package) speaking the "/jobs" namespace, for tests: it
 * knows the jobs a test gives it, answers `watch` with a job's state (or `error` job_not_found) and
 * puts the client in the job's room, and `push` sends a job's new state to its room - the payloads
 * typed as the real server's. It runs on its own port, or beside a test REST server on the same one.
 */

import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Namespace } from "socket.io";
import type { JobEvent } from "../events.gen";
import { JOBS_NAMESPACE, type JobsToClient, type JobsToServer } from "../JobWatcher";

export interface JobServerOptions {
  token?: string;
}

export class JobServer {
  /** Every client event, in order. */
  readonly received: { sid: string; event: string; data: unknown }[] = [];
  readonly jobs = new Map<string, JobEvent>();
  private io!: Server<JobsToServer, JobsToClient>;
  private http!: HttpServer;
  private ownHttp = false;
  /** While true, connections are refused (a server without the socket): the client falls back to polling. */
  refuse = false;

  constructor(private readonly options: JobServerOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  get ns(): Namespace<JobsToServer, JobsToClient> {
    return this.io.of(JOBS_NAMESPACE);
  }

  /** Clients in the job's room now. */
  async watchers(jobId: string): Promise<number> {
    return (await this.ns.in(`job:${jobId}`).fetchSockets()).length;
  }

  /** Listen on `http` (a test REST server's), or on a new server on a free port. */
  async start(http?: HttpServer): Promise<this> {
    this.ownHttp = !http;
    this.http = http ?? createServer();
    this.io = new Server<JobsToServer, JobsToClient>(this.http, { cors: { origin: "*" } });
    this.ns.use((socket, next) => {
      if (this.refuse) return next(new Error("refused by the test"));
      const token = this.options.token;
      if (token && (socket.handshake.auth as { token?: string })?.token !== token) {
        const err = new Error("unauthorized") as Error & { data?: unknown };
        err.data = { code: "unauthorized", message: "Нужен токен." };
        return next(err);
      }
      next();
    });
    this.ns.on("connection", (socket) => {
      socket.onAny((event: string, data: unknown) => this.received.push({ sid: socket.id, event, data }));
      socket.on("watch", ({ job_id }) => {
        const job = this.jobs.get(job_id);
        if (!job) {
          socket.emit("error", { code: "job_not_found", message: "Задание не найдено.", detail: `no job ${job_id}`, job_id });
          return;
        }
        void socket.join(`job:${job_id}`);
        socket.emit("job", job);
      });
      socket.on("unwatch", ({ job_id }) => void socket.leave(`job:${job_id}`));
    });
    if (this.ownHttp) await new Promise<void>((resolve) => this.http.listen(0, "127.0.0.1", resolve));
    return this;
  }

  /** The job's new state: remembered (for later watches) and sent to its room. */
  push(job: JobEvent): void {
    this.jobs.set(job.id, job);
    this.ns.to(`job:${job.id}`).emit("job", job);
  }

  /** Drop every connection (the clients reconnect by themselves). */
  dropConnections(): void {
    this.ns.disconnectSockets(true);
  }

  async stop(): Promise<void> {
    this.io.disconnectSockets(true);
    if (this.ownHttp) {
      await new Promise<void>((resolve) => this.io.close(() => resolve()));
      this.http.closeAllConnections?.();
    } else {
      this.io.engine.close();
    }
  }
}
