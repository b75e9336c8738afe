import type { Socket } from 'node:net';
import type { Clock } from '../../shared/clock';
import { ensureError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { isConnectionClosed, isProtocolViolation } from './errors';
import type { ExportTable } from './exportTable';
import { negotiate } from './handshake';
import { serveTransmission, type TransmissionStats } from './transmission';
import { SocketWire } from './wire';

/** How long a graceful end may wait for the client to take our last bytes before we cut it off. */
const END_GRACE_MS = 2000;

export interface NbdConnectionOptions {
  socket: Socket;
  exports: ExportTable;
  logger: Logger;
  clock: Clock;
  handshakeTimeoutMs: number;
}

type State = 'handshake' | 'idle' | 'busy' | 'done';

/** One client: handshake, then transmission, then close. */
export class NbdConnection {
  /** Settles when the socket is fully closed. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly wire: SocketWire;
  private readonly logger: Logger;
  private state: State = 'handshake';
  private stopRequested = false;
  private ending = false;
  private readonly stats: TransmissionStats = { requests: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };

  constructor(private readonly options: NbdConnectionOptions) {
    this.socket = options.socket;
    this.logger = options.logger;
    this.closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.wire = new SocketWire(this.socket);
  }

  start(): void {
    void this.run();
  }

  /** Lets a request being served finish and reply; ends the connection at once otherwise. */
  stop(): void {
    this.stopRequested = true;
    if (this.state !== 'busy') this.end();
  }

  private async run(): Promise<void> {
    const { clock, handshakeTimeoutMs, exports } = this.options;
    const timer = clock.setTimer(handshakeTimeoutMs, () => {
      this.logger.warn('nbd handshake timed out', { timeoutMs: handshakeTimeoutMs });
      this.hangUp();
    });
    let hard = false;
    try {
      const chosen = await negotiate({ wire: this.wire, exports, logger: this.logger });
      timer.cancel();
      if (!chosen) {
        this.logger.debug('nbd client aborted negotiation');
        return;
      }
      this.logger.info('nbd export opened', { export: chosen.name, size: chosen.device.size });
      this.state = 'idle';
      await serveTransmission(
        {
          wire: this.wire,
          device: chosen.device,
          logger: this.logger.child({ export: chosen.name }),
          setBusy: (busy) => {
            this.state = busy ? 'busy' : 'idle';
          },
          stopping: () => this.stopRequested,
        },
        this.stats,
      );
    } catch (error) {
      hard = !isConnectionClosed(error);
      if (isConnectionClosed(error)) {
        this.logger.debug('nbd connection closed by peer');
      } else if (isProtocolViolation(error)) {
        this.logger.warn('nbd protocol violation; closing connection', {
          error: error.message,
          ...error.details,
        });
      } else {
        this.logger.error('nbd connection failed', { error: ensureError(error).message });
      }
    } finally {
      timer.cancel();
      this.state = 'done';
      this.logger.debug('nbd connection ended', { ...this.stats });
      if (hard) this.hangUp();
      else this.end();
    }
  }

  /**
   * Flushes what we wrote (a reply may still be queued), sends FIN, and closes; a pending read then
   * fails as closed. A client that stops reading is cut off after a grace period.
   */
  private end(): void {
    if (this.socket.destroyed || this.ending) return;
    this.ending = true;
    const cutoff = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
    cutoff.unref();
    this.socket.end(() => {
      clearTimeout(cutoff);
      this.socket.destroy();
    });
  }

  private hangUp(): void {
    this.socket.destroy();
  }
}
