import { EventEmitter, on } from "node:events";

/** A small change notice streamed to every open browser by `events.watch`. */
export interface ChangeEvent {
  type: string;
  sandbox?: string;
  by: string;
  at: string;
}

/** The in-process bus that carries change events from services to subscribers. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every open browser holds one listener; there is no meaningful small cap.
    this.emitter.setMaxListeners(0);
  }

  /** Announces a change to every subscriber. */
  publish(event: Omit<ChangeEvent, "at"> & { at?: string }): void {
    this.emitter.emit("change", { ...event, at: event.at ?? new Date().toISOString() });
  }

  /** Yields change events until `signal` aborts. */
  async *subscribe(signal?: AbortSignal): AsyncGenerator<ChangeEvent> {
    try {
      for await (const [event] of on(this.emitter, "change", { signal })) yield event as ChangeEvent;
    } catch (error) {
      if ((error as Error).name !== "AbortError") throw error;
    }
  }
}
