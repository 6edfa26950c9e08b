import { renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import { TestProviders } from "../test/providers";
import type { JobEvent } from "./events.gen";
import type { JobWatcherOptions } from "./JobWatcher";
import { JobServer } from "./testing/jobServer";
import { useJobEvents } from "./useJobEvents";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(options = {}): Promise<JobServer> {
  const server = await new JobServer(options).start();
  cleanups.push(() => server.stop());
  return server;
}

function job(progress: number, overrides: Partial<JobEvent> = {}): JobEvent {
  return {
    id: "j1", kind: "voice_train", status: "running", progress, message: `Шаг ${Math.round(progress * 10)}`,
    created: 1, error: null, timings: null, warnings: [], result: null, ...overrides,
  };
}

const fast: JobWatcherOptions = { transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 200, token: () => null };

function watch(server: JobServer, jobId: string | null, options: JobWatcherOptions = fast) {
  const client = new ApiClient({ baseUrl: server.url, token: null });
  const wrapper = ({ children }: { children: ReactNode }) => <TestProviders client={client}>{children}</TestProviders>;
  const view = renderHook(({ id }) => useJobEvents<{ steps: number }>(id, options), { wrapper, initialProps: { id: jobId } });
  cleanups.push(() => view.unmount());
  return view;
}

describe("useJobEvents against a real Socket.IO server", () => {
  it("gets the job's state at once, then every pushed change, up to the final one", async () => {
    const server = await serve();
    server.jobs.set("j1", job(0.1));
    const { result } = watch(server, "j1");
    await waitFor(() => expect(result.current.job?.progress).toBe(0.1));
    expect(result.current.connected).toBe(true);
    expect(server.received).toEqual([{ sid: expect.any(String), event: "watch", data: { job_id: "j1" } }]);

    const seen: number[] = [];
    for (const progress of [0.3, 0.6, 0.9]) {
      server.push(job(progress));
      await waitFor(() => expect(result.current.job?.progress).toBe(progress));
      seen.push(result.current.job!.progress);
    }
    server.push(job(1, { status: "done", message: "Готово", result: { steps: 3 } }));
    await waitFor(() => expect(result.current.job?.status).toBe("done"));
    expect(seen).toEqual([0.3, 0.6, 0.9]);
    expect(result.current.job?.result).toEqual({ steps: 3 });
    expect(result.current.error).toBeNull();
  });

  it("says when the server does not know the job", async () => {
    const server = await serve();
    const { result } = watch(server, "nope");
    await waitFor(() => expect(result.current.error?.code).toBe("job_not_found"));
    expect(result.current.error?.job_id).toBe("nope");
    expect(result.current.job).toBeNull();
    expect(result.current.connected).toBe(true);
  });

  it("after a dropped connection it watches again and gets the current state", async () => {
    const server = await serve();
    server.jobs.set("j1", job(0.2));
    const { result } = watch(server, "j1");
    await waitFor(() => expect(result.current.connected).toBe(true));
    server.dropConnections();
    server.jobs.set("j1", job(0.7)); // moved on while the client was away
    await waitFor(() => expect(result.current.job?.progress).toBe(0.7));
    expect(result.current.connected).toBe(true);
    expect(server.received.filter((r) => r.event === "watch")).toHaveLength(2);
  });

  it("leaves the job's room when the id changes and when the component goes", async () => {
    const server = await serve();
    server.jobs.set("j1", job(0.2));
    server.jobs.set("j2", job(0.5, { id: "j2" }));
    const view = watch(server, "j1");
    await waitFor(() => expect(view.result.current.job?.id).toBe("j1"));
    expect(await server.watchers("j1")).toBe(1);
    view.rerender({ id: "j2" });
    await waitFor(() => expect(view.result.current.job?.id).toBe("j2"));
    await waitFor(async () => expect(await server.watchers("j1")).toBe(0));
    view.rerender({ id: null });
    expect(view.result.current).toEqual({ job: null, connected: false, error: null });
    await waitFor(async () => expect(await server.watchers("j2")).toBe(0));
    expect(server.ns.sockets.size).toBe(0);
  });

  it("reports a refused connection (a wrong token) and stays disconnected", async () => {
    const server = await serve({ token: "s3cret" });
    server.jobs.set("j1", job(0.2));
    const { result } = watch(server, "j1", { ...fast, token: () => "wrong" });
    await waitFor(() => expect(result.current.error?.code).toBe("unauthorized"));
    expect(result.current.connected).toBe(false);
    expect(result.current.job).toBeNull();
  });
});
