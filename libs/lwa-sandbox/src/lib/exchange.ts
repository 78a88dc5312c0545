import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FaultQueue } from './fault-queue';
import type { ReportStore } from './report-store';
import type { RequestLogEntry } from './request-log';
import type { SandboxAuthority } from './sandbox-authority';
import type { SandboxControl, SandboxLogger } from './sandbox-options';

/** One request and its answer, plus what the request log will say about it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  record: Partial<
    Pick<
      RequestLogEntry,
      | 'endpoint'
      | 'grantType'
      | 'clientId'
      | 'accountId'
      | 'credential'
      | 'scope'
      | 'outcome'
      | 'fault'
    >
  >;
}

/** Timers and sockets that outlive a handler: `close()` must end them all. */
export class PendingWork {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly heldSockets = new Set<Socket>();

  /** Resolves after `ms`, unless the sandbox closes first (then never). */
  delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** Never answers: destroys the socket after `ms`, or leaves it to the client or `close()`. */
  hold(socket: Socket, ms: number | undefined): void {
    this.heldSockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    socket.once('close', () => {
      this.heldSockets.delete(socket);
      if (timer) {
        clearTimeout(timer);
        this.timers.delete(timer);
      }
    });
    if (ms !== undefined) {
      timer = setTimeout(() => socket.destroy(), ms);
      this.timers.add(timer);
    }
  }

  closeAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.heldSockets) socket.destroy();
    this.heldSockets.clear();
  }
}

/** What every route handler needs. */
export interface SandboxContext {
  authority: SandboxAuthority;
  faults: FaultQueue;
  control: SandboxControl;
  pending: PendingWork;
  logger: SandboxLogger | undefined;
  clientId: string;
  applicationName: string;
  maxBodyBytes: number;
  /** Ads reports created through `POST /reporting/reports`. */
  reports: ReportStore;
  /** `http://host:port` the sandbox listens on (for URLs when a request has no usable Host). */
  ownUrl: string;
}
