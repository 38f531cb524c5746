import { fileGeometry, type FileGeometry } from '../../core/params.js';
import type { Job } from './job.js';

export function jobGeometry(job: Pick<Job, 'params'>): FileGeometry {
  const p = job.params;
  return fileGeometry(p.size, { k: p.k, n: p.n, maxSegmentSize: p.maxSegmentSize });
}
