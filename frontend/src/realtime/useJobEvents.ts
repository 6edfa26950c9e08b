/**
 * React binding of JobWatcher: the latest state of one job as the server pushes it over the "/jobs"
 * socket, and whether the socket is connected (while it is not, the caller polls the REST status).
 * One connection per watched job id; it closes when the id changes or the component goes.
 */

import { useEffect, useRef, useState } from "react";
import { useApi } from "../api/context";
import type { Job } from "../api/types";
import { JobWatcher, type JobErrorEvent, type JobWatcherOptions } from "./JobWatcher";

export interface JobEventsState<R = unknown> {
  /** The job's latest pushed state (null until the server answered the watch). */
  job: Job<R> | null;
  /** The socket is connected: `job` is current and follows every change. */
  connected: boolean;
  /** The server's last error about this job (e.g. job_not_found), or a refused connection. */
  error: JobErrorEvent | null;
}

const IDLE: JobEventsState<never> = { job: null, connected: false, error: null };

/** Follow job `jobId` over the socket (null: none, nothing is connected). */
export function useJobEvents<R = unknown>(jobId: string | null, options: JobWatcherOptions = {}): JobEventsState<R> {
  const api = useApi();
  const [state, setState] = useState<JobEventsState<R> & { for: string | null }>({ ...IDLE, for: null });
  const optionsRef = useRef(options); // read when the watcher is made; changing them does not reconnect
  useEffect(() => {
    optionsRef.current = options;
  });

  useEffect(() => {
    if (jobId === null) return;
    const watcher = new JobWatcher({ url: api.baseUrl, ...optionsRef.current });
    const update = (change: Partial<JobEventsState<R>>) =>
      setState((s) => (s.for === jobId ? { ...s, ...change } : { ...IDLE, ...change, for: jobId }));
    const offs = [
      watcher.on("job", (job) => {
        // the generated event is the REST Job's shape; `result` is the job kind's own (R)
        if (job.id === jobId) update({ job: job as unknown as Job<R>, error: null });
      }),
      watcher.on("connection", (connected) => update({ connected })),
      watcher.on("error", (error) => {
        if (error.job_id == null || error.job_id === jobId) update({ error });
      }),
    ];
    watcher.watch(jobId);
    return () => {
      for (const off of offs) off();
      watcher.close();
      setState({ ...IDLE, for: null }); // a later watch of the same id starts from nothing
    };
  }, [api.baseUrl, jobId]);

  if (jobId === null || state.for !== jobId) return IDLE;
  const { for: _for, ...current } = state;
  return current;
}
