/** A getUserMedia stand-in for tests: streams whose tracks record whether they were stopped. */

export interface FakeTrack {
  stopped: boolean;
  stop(): void;
}

export class FakeMicrophone {
  readonly streams: { tracks: FakeTrack[] }[] = [];
  /** getUserMedia calls (one per permission check). */
  calls = 0;
  deny: string | null = null;

  readonly getUserMedia = async (): Promise<MediaStream> => {
    this.calls++;
    if (this.deny) throw Object.assign(new Error(this.deny), { name: this.deny });
    const track: FakeTrack = {
      stopped: false,
      stop() {
        this.stopped = true;
      },
    };
    const stream = { tracks: [track] };
    this.streams.push(stream);
    return { getTracks: () => stream.tracks } as unknown as MediaStream;
  };

  /** Whether some stream is open (the browser's microphone indicator would be on). */
  get live(): boolean {
    return this.streams.some((s) => s.tracks.some((t) => !t.stopped));
  }
}
