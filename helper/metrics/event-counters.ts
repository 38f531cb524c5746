import { Counter, type Registry } from 'prom-client';
import type { HelperEvent, HelperEventName } from '../diagnostics.js';

/** Subscribes `fn` to the events of one helper (filtered by source by the caller). */
export type OnEvent = <N extends HelperEventName>(name: N, fn: (event: HelperEvent<N>) => void) => void;

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * The counters that follow events: the helper's intake and jobs (Tahoe's
 * helper stats), its gateway and its reads from the grid.
 */
export function eventCounters(registers: Registry[], on: OnEvent): void {
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers });

  const requests = counter('ferry_helper_upload_requests_total', 'Checks answered (Tahoe: upload requests).');
  const alreadyPresent = counter('ferry_helper_already_present_total', 'Checks answered have-it: the grid already held the file.');
  const needUpload = counter('ferry_helper_need_upload_total', 'Checks answered send: the client had to upload.');
  const inProgress = counter('ferry_helper_in_progress_total', 'Checks answered in-progress: every byte was already here.');
  const resumes = counter('ferry_helper_resumes_total', 'Checks that resumed a partial upload.');
  on('ferry:intake:check', ({ status, resumed }) => {
    requests.inc();
    (status === 'have-it' ? alreadyPresent : status === 'send' ? needUpload : inProgress).inc();
    if (resumed) resumes.inc();
  });
  const received = counter('ferry_helper_received_bytes_total', 'Ciphertext bytes received, verified and spooled.');
  on('ferry:intake:received', ({ bytes }) => received.inc(bytes));

  const encoded = counter('ferry_helper_encoded_bytes_total', 'Ciphertext bytes of finished jobs (counted when a job finishes).');
  const pushed = counter('ferry_helper_pushed_bytes_total', 'Share bytes pushed to storage servers by finished jobs.');
  const jobsDone = counter('ferry_helper_jobs_done_total', 'Jobs whose shares were all pushed.');
  on('ferry:jobs:done', (done) => {
    jobsDone.inc();
    encoded.inc(done.size);
    pushed.inc(sum(done.pushedBytes));
  });

  const gatewayRequests = counter('ferry_gateway_requests_total', 'Gateway requests started, by method.', ['method']);
  on('ferry:gateway:request', ({ method }) => gatewayRequests.inc({ method }));
  const servedBytes = counter('ferry_gateway_served_bytes_total', 'Plaintext bytes sent to gateway clients.');
  const servedSegments = counter('ferry_gateway_served_segments_total', 'Whole segments sent to gateway clients.');
  on('ferry:gateway:served', ({ bytes, segments }) => {
    servedBytes.inc(bytes);
    servedSegments.inc(segments);
  });
  const cut = counter('ferry_gateway_responses_cut_total', 'Gateway responses cut after their headers were sent, by reason.', ['reason']);
  on('ferry:gateway:cut', ({ reason }) => cut.inc({ reason }));
  const shareFailures = counter('ferry_gateway_share_failures_total', 'Share reads that failed in the gateway (another share was used), by kind of failure.', ['kind']);
  on('ferry:gateway:share-failure', ({ kind }) => shareFailures.inc({ kind }));
  const locates = counter('ferry_gateway_locates_total', 'Share location lookups, by whether the cache answered.', ['cached']);
  on('ferry:gateway:locate', ({ cached }) => locates.inc({ cached: String(cached) }));

  const readBytes = counter('ferry_grid_read_bytes_total', 'Share bytes read from storage servers, by server id.', ['server']);
  const readErrors = counter('ferry_grid_read_errors_total', 'Share reads from storage servers that failed, by server id.', ['server']);
  on('ferry:grid:read', ({ server, bytes, error }) => {
    readBytes.inc({ server }, bytes);
    if (error !== undefined) readErrors.inc({ server });
  });
  const corruption = counter('ferry_grid_corruption_reports_total', 'Copies reported corrupt to their storage server, by server id.', ['server']);
  on('ferry:grid:corruption-report', ({ server }) => corruption.inc({ server }));
}
